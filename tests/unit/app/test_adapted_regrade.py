"""A reading of a study scored by an adapted model is regraded with that model's limits:
the reader's edits never silently fall back to the bundled rules."""

from mibgscore.app.schemes import Schemes
from mibgscore.app.scoring import regrade, scoring_evidence
from mibgscore.grading.calibration import Calibration, SegmentLimits
from mibgscore.pipeline import ScoreParams, score
from mibgscore.simulate import SimulationParams, simulate_study


def test_an_edit_keeps_the_adapted_model_s_whole_bone_limit():
    scan = simulate_study(21, params=SimulationParams(
        grades={"right_lower_limb_proximal": 5, "spine": 5, "pelvis": 2})).scan
    schemes = Schemes.load()
    shipped = score(scan)
    # a centre that calls a bone whole from 30 % of it: every diffusely involved segment is 6
    lenient = SegmentLimits(min_fraction=0.05, half=0.2, whole=0.3)
    cal = Calibration("centre", {k: lenient for k in schemes.siopen.keys})
    adapted = score(scan, params=ScoreParams(calibration=cal))
    diffuse = [k for k, v in adapted.siopen.items() if v == 6]
    assert diffuse and any(shipped.siopen[k] < 6 for k in diffuse)
    evidence, lesions = scoring_evidence(adapted, schemes)
    auto = adapted.to_dict()
    assert regrade(auto, evidence, lesions, {}, schemes)["siopen"] == adapted.siopen
    # the reader rejects a focus in a segment graded 6 by its extent: it stays 6
    touched = next((x for x in lesions if x["kind"] == "focal" and x["siopen"] in diffuse),
                   None)
    target = touched or next(x for x in lesions if x["kind"] == "diffuse"
                             and x["siopen"] in diffuse)
    edited = [replace_rejected(x) if x is target else x for x in lesions]
    out = regrade(auto, evidence, edited, {}, schemes)
    key = target["siopen"]
    assert out["siopen"][key] == (6 if touched else 0), (key, out["siopen"])
    # without the model's limits in the evidence, the bundled rules would have graded it lower
    bare = {name: {k: {"focal": v["focal"], "fraction": v["fraction"]} for k, v in segs.items()}
            for name, segs in evidence.items()}
    assert touched, "the study has a focus in a whole-bone segment"
    assert regrade(auto, bare, edited, {}, schemes)["siopen"][key] < 6


def replace_rejected(x: dict) -> dict:
    return {**x, "rejected": "artefact"}


def test_the_shipped_model_s_evidence_carries_no_limits():
    scan = simulate_study(22, params=SimulationParams(grades={"spine": 5})).scan
    evidence, _ = scoring_evidence(score(scan), Schemes.load())
    assert all("whole" not in v for v in evidence["siopen"].values())
