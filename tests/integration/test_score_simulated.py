"""score() on simulated studies, through DICOM bytes: normal, extensive, one view, feet first."""

from dataclasses import replace

import numpy as np
import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.pipeline import ScoreEvidence, score
from mibgscore.simulate import SimulationParams, simulate_study

# clean, well-counted 256 x 1024 studies: the pitfalls have their own tests
PARAMS = SimulationParams(matrix_weights=(1.0, 0.0), pitfall_rate=0.0,
                          counts_per_view=(1.0e6, 2.0e6))


@pytest.fixture(scope="module")
def normal_study():
    return simulate_study(5, category="normal", params=PARAMS)


@pytest.fixture(scope="module")
def extensive_study():
    return simulate_study(4, category="extensive", params=PARAMS)


def _through_dicom(scan, tmp_path):
    from mibgscore.io.read import read_scan
    from mibgscore.io.write import write_nm

    path = tmp_path / "study.dcm"
    write_nm(scan, path)
    return read_scan(path)


def test_normal_study_scores_zero_through_dicom(normal_study, tmp_path):
    scan = _through_dicom(normal_study.scan, tmp_path)
    result = score(scan)
    assert normal_study.truth.siopen_total == 0
    assert result.siopen_total == 0, result.siopen
    assert tuple(result.siopen) == SIOPEN_KEYS and tuple(result.curie) == CURIE_KEYS
    assert min(result.siopen_confidence.values()) > 0.5
    labels = {f.label for f in result.findings}
    assert {"liver", "bladder"} <= labels or {"heart", "liver"} <= labels, labels
    ev = result.evidence
    assert isinstance(ev, ScoreEvidence)
    assert ev.siopen_map.shape == scan.shape and ev.curie_map.dtype == np.uint8
    assert set(np.unique(ev.siopen_map)) <= set(range(len(SIOPEN_KEYS) + 1))
    assert not ev.lesion_mask.any()


def test_extensive_study_scores_high(extensive_study):
    truth = extensive_study.truth
    result = score(extensive_study.scan)
    assert truth.siopen_total >= 17
    assert result.siopen_total >= 10, (result.siopen, truth.siopen)
    assert result.curie_total >= 5
    assert any(x.kind == "focal" for x in result.lesions) or any(
        x.kind == "diffuse" for x in result.lesions)
    rows, cols = extensive_study.scan.shape
    for x in result.lesions:
        assert 0 <= x.row < rows and 0 <= x.col < cols and x.segment in SIOPEN_KEYS


def test_one_view_scores_with_a_warning(extensive_study):
    scan = replace(extensive_study.scan, posterior=None)
    result = score(scan)
    assert any("single view" in w for w in result.warnings)
    assert result.siopen_total >= 5


def test_feet_first_scan_gives_positions_in_its_own_frame(extensive_study):
    scan = extensive_study.scan
    flipped = replace(scan, anterior=np.ascontiguousarray(scan.anterior[::-1]),
                      posterior=np.ascontiguousarray(scan.posterior[::-1]))
    a, b = score(scan), score(flipped)
    assert any("feet-first" in w for w in b.warnings)
    assert abs(a.siopen_total - b.siopen_total) <= 4
    rows = scan.shape[0]
    # the evidence maps are in each scan's own frame: flipping one flips the other
    agree = np.mean(b.evidence.siopen_map[::-1] == a.evidence.siopen_map)
    assert agree > 0.97
    top_a = sorted(x.row for x in a.lesions if x.kind == "focal")
    top_b = sorted(rows - 1 - x.row for x in b.lesions if x.kind == "focal")
    if top_a and top_b:
        assert abs(np.median(top_a) - np.median(top_b)) < 0.1 * rows
