"""Abnormal skeletal uptake: the lesion-detector contract, its registry and the detectors."""

from mibgscore.lesions.detector import DetectorEntry, LesionDetector
from mibgscore.lesions.learned import LearnedDetector, LearnedParams
from mibgscore.lesions.registry import detector_names, register, resolve_detector
from mibgscore.lesions.skeletal import ClassicDetector, LesionParams, find_lesions
from mibgscore.lesions.types import FocalLesion, RejectedFocus, SkeletalLesions

__all__ = ["ClassicDetector", "DetectorEntry", "FocalLesion", "LearnedDetector",
           "LearnedParams", "LesionDetector", "LesionParams", "RejectedFocus",
           "SkeletalLesions", "detector_names", "find_lesions", "register", "resolve_detector"]
