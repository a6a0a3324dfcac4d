"""Private helpers of the validation package: the segment tables a batch or a validation uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mibgscore.anatomy.scheme import SegmentScheme, load_scheme, resolve_scheme

Progress = Callable[[int, int], None]
"""``progress(done, total)``: the work done so far and the work in all (batch: inputs handled
and the estimated number of inputs; validate: steps)."""


def resolve_schemes(siopen: SegmentScheme | str | Path | None,
                    curie: SegmentScheme | str | Path | None
                    ) -> tuple[SegmentScheme, SegmentScheme]:
    """The SIOPEN and Curie tables to score with: loaded once, their keys checked.

    Parameters
    ----------
    siopen, curie : SegmentScheme, str or Path, optional
        A loaded table, ``"siopen"``/``"curie"``, or a TOML path; the bundled tables when None.

    Raises
    ------
    SchemeError
        A table cannot be read, is inconsistent, or does not define the contract's keys.
    """
    return resolve_scheme(siopen, "siopen"), resolve_scheme(curie, "curie")


def bundled_scheme_names() -> dict[str, str]:
    """Names of the bundled tables, ``{"siopen": ..., "curie": ...}``: the tables of results
    written before the tables in use were recorded."""
    return {"siopen": load_scheme("siopen").name, "curie": load_scheme("curie").name}
