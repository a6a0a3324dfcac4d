"""Grading: SIOPEN and Curie grades, totals and clinical categories as pure functions."""

from mibgscore.grading.rules import (
    curie_category,
    grade_curie_segment,
    grade_siopen_segment,
    response,
    siopen_category,
)

__all__ = ["curie_category", "grade_curie_segment", "grade_siopen_segment", "response",
           "siopen_category"]
