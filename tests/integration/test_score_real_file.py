"""score() on a real camera file: JPEG-LL.dcm (a one-view Tc-99m bone scan), read with force."""

import numpy as np
import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS

pytest.importorskip("data_store", reason="pydicom-data is needed for JPEG-LL.dcm")


def test_bone_scan_read_with_force_scores_with_warnings_and_evidence():
    from pydicom.data import get_testdata_file

    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import ScoreEvidence, score

    scan = read_scan(get_testdata_file("JPEG-LL.dcm"), force=True, allow_single_view=True)
    result = score(scan)
    assert tuple(result.siopen) == SIOPEN_KEYS and tuple(result.curie) == CURIE_KEYS
    # on a bone scan the whole skeleton takes up tracer: scored as widespread disease
    assert result.siopen_total > 8, result.siopen
    assert any("single view" in w for w in result.warnings)
    ev = result.evidence
    assert isinstance(ev, ScoreEvidence)
    assert ev.siopen_map.shape == scan.shape and ev.siopen_map.dtype == np.uint8
    assert ev.curie_map.max() <= len(CURIE_KEYS) and ev.siopen_map.max() <= len(SIOPEN_KEYS)
    assert ev.lesion_mask.dtype == bool and ev.lesion_mask.any()
    assert ev.siopen_keys == SIOPEN_KEYS
    for lesion in result.lesions:
        assert ev.siopen_map.shape[0] > lesion.row >= 0
    assert result.seconds > 0
