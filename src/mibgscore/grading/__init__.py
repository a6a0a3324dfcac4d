"""Grading: SIOPEN and Curie grades, totals and clinical categories as pure functions."""

from mibgscore.grading.rules import (
    curie_category,
    grade_curie_segment,
    grade_siopen_segment,
    response,
    siopen_category,
)
from mibgscore.grading.segments import SegmentEvidence, grade_curie, grade_siopen

__all__ = ["SegmentEvidence", "curie_category", "grade_curie", "grade_curie_segment",
           "grade_siopen", "grade_siopen_segment", "response", "siopen_category"]
