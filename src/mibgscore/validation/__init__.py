"""Validation against physicians' readings: batch scoring, agreement statistics, report."""

from __future__ import annotations

__all__ = ["ValidateOptions", "read_readings", "score_cohort", "validate"]


def __getattr__(name: str):  # lazy: `import mibgscore.validation` stays light
    if name == "score_cohort":
        from mibgscore.validation.batch import score_cohort

        return score_cohort
    if name in ("validate", "ValidateOptions"):
        from mibgscore.validation import compare

        return getattr(compare, name)
    if name == "read_readings":
        from mibgscore.validation.readings import read_readings

        return read_readings
    raise AttributeError(name)
