"""On a real 99mTc bone scan (JPEG-LL.dcm) the skeleton is visible: the fitted one must sit on it.

The fit sees only the body outline, so bone counts inside the fitted bone mask measure how well
the outline-based skeleton lands on the real bones.
"""

from __future__ import annotations

import numpy as np
import pytest

from mibgscore.anatomy.body import find_body
from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.scheme import SIOPEN_KEYS, load_scheme
from mibgscore.anatomy.skeleton import fit_skeleton

pydicom_data = pytest.importorskip("pydicom.data")


@pytest.fixture(scope="module")
def fitted():
    from mibgscore.io.read import read_scan

    path = pydicom_data.get_testdata_file("JPEG-LL.dcm")
    if path is None:
        pytest.skip("JPEG-LL.dcm (pydicom-data) is not installed")
    scan = read_scan(path, force=True, allow_single_view=True)
    body = find_body(scan)
    return scan, body, fit_skeleton(body)


def test_bone_scan_is_upright_and_single_view(fitted):
    scan, body, sk = fitted
    assert not body.flipped_rows
    assert body.posterior is None
    # the head is at the top, the feet at the bottom of this 1024-row image
    assert sk.landmarks["vertex"][0] < 150
    assert sk.landmarks["ankle_right"][0] > 750


def test_fitted_bone_is_brighter_than_the_rest_of_the_body(fitted):
    _, body, sk = fitted
    counts = body.anterior
    bone = counts[sk.bone_mask].mean()
    soft = counts[body.mask & ~sk.bone_mask].mean()
    assert bone > 1.4 * soft, f"bone {bone:.1f} vs soft tissue {soft:.1f} counts/pixel"


@pytest.mark.parametrize("bones", [
    ("thoracic_spine", "lumbar_spine"),
    ("sacrum", "hip_bone_right", "hip_bone_left"),
    ("femur_right", "femur_left"),
    ("tibia_fibula_right", "tibia_fibula_left"),
    ("cranium",),
])
def test_each_region_sits_on_bone(fitted, bones):
    """Counts in the fitted bones beat the soft tissue in the same rows."""
    _, body, sk = fitted
    counts = body.anterior
    m = np.isin(sk.bone_labels, [BONE_LABEL[b] for b in bones])
    rows = np.flatnonzero(m.any(axis=1))
    band = np.zeros_like(m)
    band[rows[0]: rows[-1] + 1] = True
    soft = body.mask & ~sk.bone_mask & band
    ratio = counts[m].mean() / counts[soft].mean()
    assert ratio > 1.25, f"{bones}: bone/soft-tissue counts {ratio:.2f}"


def test_all_siopen_segments_found(fitted):
    _, _, sk = fitted
    seg = sk.segment_map(load_scheme("siopen"))
    present = set(np.unique(seg)) - {0}
    assert present == set(range(1, len(SIOPEN_KEYS) + 1))
