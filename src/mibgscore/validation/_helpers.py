"""Private helpers of the validation package (and of adaptation, which reports the same
figures): the segment tables a batch or a validation uses, JSON-ready values, numbers in text."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

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


def json_ready(value: Any) -> Any:
    """JSON-ready: NaN and infinities become None, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def number_text(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, never a signed zero.

    Examples
    --------
    >>> number_text(-0.001, 2), number_text(-0.2, 2), number_text(0.956, 2)
    ('0.00', '-0.20', '0.96')
    """
    return f"{round(float(value), digits) + 0.0:.{digits}f}"
