"""Anatomy: body outline, orientation, the fitted skeleton and the segment schemes."""

from mibgscore.anatomy.body import find_body, to_original_frame
from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.anatomy.grades import Grades
from mibgscore.anatomy.grid import WorkGrid
from mibgscore.anatomy.scheme import (
    CURIE_KEYS,
    SIOPEN_KEYS,
    SegmentScheme,
    check_scheme_keys,
    load_scheme,
    load_schemes,
)
from mibgscore.anatomy.skeleton import fit_skeleton
from mibgscore.anatomy.types import Body, Skeleton, WorkingSkeleton

__all__ = ["BONES", "BONE_LABEL", "CURIE_KEYS", "LONG_BONES", "SIOPEN_KEYS", "Body", "Grades",
           "SegmentScheme", "Skeleton", "WorkGrid", "WorkingSkeleton", "check_scheme_keys",
           "find_body", "fit_skeleton", "load_scheme", "load_schemes", "to_original_frame"]
