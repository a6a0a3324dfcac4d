"""Organs found where they are: the heart apart from the liver it touches, none on an arm."""

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lesions"))

from lesion_phantom import SHAPE, make_phantom  # noqa: E402

from mibgscore.uptake.images import working_views  # noqa: E402
from mibgscore.uptake.normal import find_normal_uptake  # noqa: E402


def _findings(extra):
    body, skeleton = make_phantom(extra, level=15.0, seed=2)
    views = working_views(body)
    return find_normal_uptake(views, skeleton.on(body.grid)).findings


def _ellipse(row, col, a, b):
    rr, cc = np.mgrid[: SHAPE[0], : SHAPE[1]]
    return (((rr - row) / a) ** 2 + ((cc - col) / b) ** 2 <= 1).astype(float)


def test_the_heart_on_the_liver_dome_is_its_own_finding():
    liver = 5.0 * _ellipse(215, 65, 28, 26)   # patient's right, lower thorax
    heart = 3.0 * _ellipse(175, 92, 16, 14)   # patient's left, above the liver, touching it
    found = _findings(ndi.gaussian_filter(liver + heart, 2.0))
    by = {f.label: f for f in found}
    assert "liver" in by and "heart" in by, [f.label for f in found]
    assert abs(by["heart"].row - 175) * 3.0 < 30 and abs(by["heart"].col - 92) * 3.0 < 30
    assert abs(by["liver"].row - 215) * 3.0 < 40 and by["liver"].col < 80
    assert not (by["heart"].mask & by["liver"].mask).any()


def test_a_hot_spot_on_an_arm_is_never_an_organ():
    arm = 4.0 * _ellipse(175, 131, 10, 6)  # over the left humerus, at heart level
    found = _findings(ndi.gaussian_filter(arm, 1.5))
    assert not [f for f in found if f.label in ("heart", "spleen", "liver", "kidney")], \
        [(f.label, f.row, f.col) for f in found]
