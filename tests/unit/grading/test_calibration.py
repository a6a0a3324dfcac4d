"""A centre's calibration: limits, foci re-counted, provenance."""

from dataclasses import replace

import numpy as np
import pytest

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.calibration import (
    BELOW_LIMIT,
    Calibration,
    SegmentLimits,
    calibrate_foci,
    model_of,
)
from mibgscore.grading.rules import grade_siopen_segment
from mibgscore.lesions.types import FocalLesion, RejectedFocus, SkeletalLesions
from mibgscore.result import ModelInfo

SIOPEN = load_scheme("siopen")


def _focus(row: int, bone: str, p: float) -> FocalLesion:
    return FocalLesion(row=row, col=5, bone_row=row, bone_col=5, bone=bone, radius_mm=5.0,
                       contrast=1.0, z=5.0, confidence=p)


@pytest.fixture()
def skeleton():
    labels = np.zeros((40, 10), np.int16)
    labels[0:10, 5] = BONE_LABEL["cranium"]
    labels[10:40, 5] = BONE_LABEL["femur_right"]
    position = np.full(labels.shape, np.nan, np.float32)
    position[10:40, 5] = np.linspace(0.0, 1.0, 30)
    return labels, position


def _skeleton(labels, position):
    class Fit:  # the attribute calibrate_foci reads of a WorkingSkeleton
        pass

    fit = Fit()
    fit.labels, fit.position = labels, position
    return fit


def test_limits_are_checked():
    with pytest.raises(ValueError):
        SegmentLimits(half=0.9, whole=0.8)
    with pytest.raises(ValueError):
        SegmentLimits(focus_p=1.5)
    assert SegmentLimits().is_default


def test_grade_limits_move_with_the_centre():
    assert grade_siopen_segment(0, 0.9) == 5
    assert grade_siopen_segment(0, 0.9, whole=0.85) == 6
    assert grade_siopen_segment(0, 0.45, half=0.4) == 5


def test_foci_are_recounted_by_their_segment_limit(skeleton):
    labels, position = skeleton
    fit = _skeleton(labels, position)
    kept_skull = _focus(3, "cranium", 0.55)
    kept_femur = _focus(12, "femur_right", 0.55)       # proximal femur
    weak_femur = _focus(20, "femur_right", 0.35)        # set aside by the verifier
    injection = _focus(38, "femur_right", 0.9)          # set aside by a rule
    zeros = np.zeros(labels.shape, np.float32)
    lesions = SkeletalLesions(
        focal=(kept_skull, kept_femur), diffuse=np.zeros(labels.shape, bool), excess=zeros,
        significance=zeros, bone_zone=labels > 0,
        rejected=(RejectedFocus(weak_femur, "not_bone", 0.35),
                  RejectedFocus(injection, "injection_site", 0.9)))
    cal = Calibration("c", {"skull": SegmentLimits(focus_p=0.6),
                            "right_lower_limb_proximal": SegmentLimits(focus_p=0.3),
                            "right_lower_limb_distal": SegmentLimits(focus_p=0.3)})
    out = calibrate_foci(lesions, fit, SIOPEN, cal)
    assert [x.row for x in out.focal] == [12, 20]       # skull focus out, weak femur in
    reasons = {r.focus.row: r.reason for r in out.rejected}
    assert reasons == {3: BELOW_LIMIT, 38: "injection_site"}
    assert calibrate_foci(lesions, fit, SIOPEN, None) is lesions


def test_calibration_round_trip_and_model_name():
    cal = Calibration("centre A", {"skull": SegmentLimits(focus_p=0.7, whole=0.85)}, "ab")
    back = Calibration.from_dict(cal.to_dict())
    assert back == cal and back.sha256 == cal.sha256
    assert replace(cal, name="other").sha256 != cal.sha256
    base = ModelInfo("learned", "4", "f" * 64)
    info = model_of(base, cal)
    assert info.name == "centre A" and info.sha256 not in (base.sha256, cal.sha256)
    assert model_of(base, None) is base
    with pytest.raises(ValueError):
        Calibration.from_dict({"segments": {"skull": {"bogus": 1}}})


def test_a_lone_weak_focus_is_set_aside_but_not_one_of_two(skeleton):
    labels, position = skeleton
    fit = _skeleton(labels, position)
    zeros = np.zeros(labels.shape, np.float32)

    def lesions(*foci):
        return SkeletalLesions(focal=foci, diffuse=np.zeros(labels.shape, bool), excess=zeros,
                               significance=zeros, bone_zone=labels > 0)

    cal = Calibration("c", lone_focus_p=0.8)
    alone = calibrate_foci(lesions(_focus(3, "cranium", 0.6)), fit, SIOPEN, cal)
    assert alone.focal == () and alone.rejected[0].reason == BELOW_LIMIT
    sure = calibrate_foci(lesions(_focus(3, "cranium", 0.85)), fit, SIOPEN, cal)
    assert len(sure.focal) == 1
    pair = calibrate_foci(lesions(_focus(3, "cranium", 0.6), _focus(20, "femur_right", 0.6)),
                          fit, SIOPEN, cal)
    assert len(pair.focal) == 2
