"""The segment tables the web application scores and reads with: bundled, or a centre's own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mibgscore.anatomy.grades import Grades
from mibgscore.anatomy.scheme import (
    CURIE_KEYS,
    SIOPEN_KEYS,
    SegmentScheme,
    load_scheme,
    load_schemes,
)

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
        siopen, curie = load_schemes(files)
        return cls(siopen or load_scheme("siopen"), curie or load_scheme("curie"))

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

    def grades(self, name: str, grades: Mapping[str, int]) -> Grades:
        """``grades`` (key -> grade) of ``name`` checked against the table in use; its
        ``total`` and ``category`` are the reading's.

        Raises
        ------
        ValueError
            A key is missing or unknown, or a grade is outside 0 to the table's max grade.
        """
        return Grades(self[name], grades)
