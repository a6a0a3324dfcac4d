"""The segment tables the web application scores and reads with: bundled, or a centre's own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.errors import SchemeError

SCHEME_NAMES = ("siopen", "curie")
"""The two scores of a reading, in the order the interface shows them."""

_KEYS = {"siopen": SIOPEN_KEYS, "curie": CURIE_KEYS}


@dataclass(frozen=True)
class Schemes:
    """The SIOPEN and the Curie table in use (``settings.segments``, else the bundled ones)."""

    siopen: SegmentScheme
    curie: SegmentScheme

    @classmethod
    def load(cls, files: Iterable[str | Path] = ()) -> Schemes:
        """The bundled tables, each replaced by the file in ``files`` that has its keys.

        Parameters
        ----------
        files : iterable of str or Path
            TOML segment tables, at most one with the SIOPEN keys and one with the Curie keys
            (as ``mibgscore score --segments``).

        Raises
        ------
        SchemeError
            A table cannot be read or is inconsistent, has neither the SIOPEN nor the Curie
            keys, or a second table is given for one scheme.
        """
        found: dict[str, SegmentScheme] = {}
        for f in files:
            table = load_scheme(Path(f))
            name = next((n for n in SCHEME_NAMES if set(table.keys) == set(_KEYS[n])), None)
            if name is None:
                raise SchemeError("the table's segment keys are neither the SIOPEN keys nor the "
                                  "Curie keys; see `mibgscore segments siopen`.", f)
            if name in found:
                raise SchemeError(f"is a second {name.upper()} table; give one table per "
                                  "scheme.", f)
            found[name] = table
        return cls(found.get("siopen") or load_scheme("siopen"),
                   found.get("curie") or load_scheme("curie"))

    def __getitem__(self, name: str) -> SegmentScheme:
        if name not in SCHEME_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    @staticmethod
    def keys(name: str) -> tuple[str, ...]:
        """Segment keys of ``"siopen"`` or ``"curie"`` (the result's keys, in its order)."""
        return _KEYS[name]

    def max_grade(self, name: str) -> int:
        """Highest grade of a segment in ``name``'s table (6 for SIOPEN, 3 for Curie)."""
        return self[name].max_grade
