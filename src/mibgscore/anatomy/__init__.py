"""Anatomy: body outline, orientation, the fitted skeleton and the segment schemes."""

from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme, load_scheme

__all__ = ["BONES", "BONE_LABEL", "CURIE_KEYS", "LONG_BONES", "SIOPEN_KEYS", "SegmentScheme",
           "load_scheme"]
