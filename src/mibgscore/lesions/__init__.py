"""Abnormal skeletal uptake: discrete foci and diffuse involvement."""

from mibgscore.lesions.skeletal import LesionParams, find_lesions
from mibgscore.lesions.types import FocalLesion, SkeletalLesions

__all__ = ["FocalLesion", "LesionParams", "SkeletalLesions", "find_lesions"]
