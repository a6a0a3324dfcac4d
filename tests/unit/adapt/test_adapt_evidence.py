"""The adaptation's compact evidence grades a study exactly as the pipeline does."""

from importlib import resources

import pytest

from mibgscore.adapt.evidence import regrade, study_evidence
from mibgscore.adapt.fit import split_scheme
from mibgscore.anatomy.scheme import load_scheme
from mibgscore.grading.calibration import Calibration, SegmentLimits
from mibgscore.pipeline import ScoreParams, score
from mibgscore.simulate import SimulationParams, simulate_study

SIOPEN = load_scheme("siopen")
TEXT = resources.files("mibgscore.anatomy").joinpath("schemes", "siopen.toml").read_text()
LIMITS = SegmentLimits(focus_p=0.45, min_fraction=0.08, half=0.4, whole=0.8)


@pytest.fixture(scope="module")
def scored():
    """Three simulated studies with disease in the limbs and trunk, scored as shipped."""
    out = []
    for seed, grades in ((11, {"right_lower_limb_proximal": 6, "spine": 5, "skull": 2}),
                         (12, {"left_upper_limb_proximal": 3, "pelvis": 4}),
                         (13, None)):
        params = SimulationParams(grades=grades) if grades else SimulationParams()
        st = simulate_study(seed, params=params)
        out.append((st, score(st.scan)))
    return out


def test_regrade_reproduces_the_shipped_grades(scored):
    for _, result in scored:
        assert regrade(study_evidence(result), SIOPEN) == result.siopen


def test_regrade_reproduces_a_calibrated_score(scored):
    cal = Calibration("test", {k: LIMITS for k in SIOPEN.keys}, lone_focus_p=0.95)
    changed = 0
    for st, result in scored:
        adapted = score(st.scan, params=ScoreParams(calibration=cal))
        assert regrade(study_evidence(result), SIOPEN, cal) == adapted.siopen
        changed += adapted.siopen != result.siopen
        assert adapted.model.name == "test" and adapted.model.sha256 != result.model.sha256
    assert changed >= 1  # the limits do change grades


def test_regrade_follows_a_moved_limb_split(scored):
    scheme, _ = split_scheme(SIOPEN, TEXT, 1.0, 0.7)
    for st, result in scored[:2]:
        moved = score(st.scan, siopen_scheme=scheme)
        assert regrade(study_evidence(result), scheme) == moved.siopen
