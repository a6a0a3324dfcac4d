"""The outline and the fitted skeleton on cases of the independent phantom2 simulator."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.skeleton import fit_skeleton

ROOT = Path(__file__).resolve().parents[2]


def _case(seed: int):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from phantom2 import generate_case
    finally:
        sys.path.pop(0)
    return generate_case(seed)


def test_faint_leg_beside_a_diffusely_involved_leg_is_kept():
    """Case 500: the left leg is diffusely involved, the right one faint beside it."""
    case = _case(500)
    body = find_body(case.scan)
    mask = body.mask[::-1] if body.flipped_rows else body.mask
    for bone in ("tibia_fibula_right", "foot_right", "tibia_fibula_left"):
        true = case.bone_labels == BONE_LABEL[bone]
        assert mask[true].mean() > 0.9, (bone, mask[true].mean())
    sk = fit_skeleton(body, age_years=case.scan.patient.age_years)
    labels = sk.bone_labels[::-1] if body.flipped_rows else sk.bone_labels
    true = case.bone_labels == BONE_LABEL["tibia_fibula_right"]
    fitted = labels == BONE_LABEL["tibia_fibula_right"]
    assert 2 * (true & fitted).sum() / (true.sum() + fitted.sum()) > 0.5
    assert np.isfinite(sk.confidence)
