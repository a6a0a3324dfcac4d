"""The glue of ``pipeline.score``: frames, working grid, views and the detector registry.

The body and skeleton stages are replaced by hand-made ones and the detector by one that
reports the hottest working pixel of the combined views as a focus, so that every position
the result gives can be checked against the pixel where the test put the hot spot.
"""

from dataclasses import replace

import numpy as np
import pytest

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.types import Body, Skeleton
from mibgscore.io.types import Scan
from mibgscore.lesions import registry
from mibgscore.lesions.detector import DetectorEntry
from mibgscore.lesions.types import FocalLesion, SkeletalLesions
from mibgscore.pipeline import ScoreParams, score
from mibgscore.result import ModelInfo

ROWS, COLS = 120, 40
HOT = (30, 17)  # scan pixel of the hot spot (anterior frame)


class HottestPixel:
    """Test detector: one focus at the hottest working pixel of the combined views."""

    model = ModelInfo("test-hottest", "1", "0" * 64)

    def find(self, views, skeleton, uptake):
        g = views.images.combined
        r, c = np.unravel_index(int(np.argmax(g)), g.shape)
        focus = FocalLesion(row=int(r), col=int(c), bone_row=int(r), bone_col=int(c),
                            bone="femur_right", radius_mm=4.0, contrast=1.0, z=10.0,
                            confidence=0.9)
        shape = skeleton.labels.shape
        return SkeletalLesions(focal=(focus,), diffuse=np.zeros(shape, bool),
                               excess=np.zeros(shape, np.float32),
                               significance=np.zeros(shape, np.float32),
                               bone_zone=skeleton.labels > 0)


@pytest.fixture()
def hottest():
    registry.register(DetectorEntry("test-hottest", "test", lambda p: HottestPixel(),
                                             lambda: None, preference=999))
    yield ScoreParams(lesion_method="test-hottest")
    del registry._REGISTRY["test-hottest"]


def _scan(spacing=2.5, posterior=True, anterior=True, hot=HOT) -> Scan:
    shape = (ROWS, COLS) if spacing >= 1.7 else (2 * ROWS, 2 * COLS)
    view = np.full(shape, 10.0, np.float32)
    view[hot] = 5000.0
    return Scan(anterior=view.copy() if anterior else None,
                posterior=view.copy() if posterior else None, spacing_mm=(spacing, spacing))


@pytest.fixture()
def stages(monkeypatch):
    """find_body flips a scan marked feet-first; the skeleton is one femur over the field."""
    flips: dict[str, bool] = {"flip": False}

    def find_body(scan):
        views = [None if v is None else (v[::-1].copy() if flips["flip"] else v)
                 for v in (scan.anterior, scan.posterior)]
        return Body(anterior=views[0], posterior=views[1], flipped_rows=flips["flip"],
                    posterior_shift=(0.0, 0.0), mask=np.ones(scan.shape, bool),
                    spacing_mm=scan.spacing_mm)

    def fit_skeleton(body, **_):
        labels = np.full(body.shape, BONE_LABEL["femur_right"], np.int16)
        position = np.repeat(np.linspace(0, 1, body.shape[0], dtype=np.float32)[:, None],
                             body.shape[1], axis=1)
        return Skeleton(bone_labels=labels, bone_position=position, confidence=0.9)

    monkeypatch.setattr("mibgscore.pipeline.find_body", find_body)
    monkeypatch.setattr("mibgscore.pipeline.fit_skeleton", fit_skeleton)
    return flips


def _focus(result):
    (x,) = [x for x in result.lesions if x.kind == "focal"]
    return x


def test_a_focus_is_reported_where_it_is_in_the_scan(stages, hottest):
    r = score(_scan(), params=hottest)
    x = _focus(r)
    assert (x.row, x.col) == HOT
    assert x.segment == "right_lower_limb_proximal"  # row 30 of 120: proximal femur
    assert r.siopen["right_lower_limb_proximal"] == 1 and r.siopen_total == 1
    assert r.model.name == "test-hottest"
    assert r.evidence.lesion_mask[HOT] and not r.evidence.lesion_mask[100, 5]


def test_a_feet_first_scan_reports_positions_in_its_own_frame(stages, hottest):
    stages["flip"] = True
    hot = (ROWS - 1 - HOT[0], HOT[1])  # the same child scanned feet first
    r = score(_scan(hot=hot), params=hottest)
    x = _focus(r)
    assert (x.row, x.col) == hot
    # canonical row 30 of 120 is proximal femur, whatever the scan's own orientation
    assert x.segment == "right_lower_limb_proximal"
    assert r.evidence.lesion_mask[hot]
    # the maps are in the scan's frame: the proximal femur lies at the bottom of this scan
    prox = r.evidence.siopen_keys.index("right_lower_limb_proximal") + 1
    assert r.evidence.siopen_map[ROWS - 5, 5] == prox
    assert r.evidence.siopen_map[5, 5] != prox
    assert any("feet-first" in w for w in r.warnings)


def test_fine_pixels_are_binned_and_positions_come_back_to_full_resolution(stages, hottest):
    hot = (61, 34)
    r = score(_scan(spacing=1.2, hot=hot), params=hottest)
    assert r.evidence.body.grid.factor == 2
    x = _focus(r)
    assert abs(x.row - hot[0]) <= 1 and abs(x.col - hot[1]) <= 1
    assert r.evidence.siopen_map.shape == (2 * ROWS, 2 * COLS)
    assert r.evidence.lesion_mask.shape == (2 * ROWS, 2 * COLS) and r.evidence.lesion_mask[hot]


def test_a_single_view_is_scored_with_a_warning(stages, hottest):
    for kept in ("anterior", "posterior"):
        scan = _scan(anterior=kept == "anterior", posterior=kept == "posterior")
        r = score(scan, params=hottest)
        assert (_focus(r).row, _focus(r).col) == HOT
        assert any(f"single view ({kept} only)" in w for w in r.warnings)


def test_the_posterior_enters_as_read_not_mirrored_again(stages, hottest):
    # the reader has mirrored the posterior already: a spot at the same pixel of both views
    # is one source, and the combined views peak there
    scan = _scan()
    other = scan.anterior.copy()
    other[HOT[0], COLS - 1 - HOT[1]] = 4000.0  # a decoy where a second mirroring would put it
    r = score(replace(scan, anterior=other), params=hottest)
    assert (_focus(r).row, _focus(r).col) == HOT


def test_auto_names_its_detector_and_a_fallback_is_a_warning(stages, monkeypatch):
    from mibgscore.lesions import learned

    r = score(_scan(), params=ScoreParams(lesion_method="auto"))
    assert r.model == learned.LearnedDetector().model and r.model.name == "learned"
    monkeypatch.setattr(learned, "unavailable_reason", lambda: "onnxruntime is missing")
    monkeypatch.setitem(registry._REGISTRY, "learned", replace(
        registry._REGISTRY["learned"], available=learned.unavailable_reason))
    r = score(_scan(), params=ScoreParams(lesion_method="auto"))
    assert r.model.name == "classic"
    assert any("learned lesion detector could not be used (onnxruntime is missing)" in w
               for w in r.warnings)
    with pytest.raises(ValueError, match="cannot run here: onnxruntime is missing"):
        score(_scan(), params=ScoreParams(lesion_method="learned"))


def test_a_rejected_candidate_is_shown_as_the_finding_it_was_taken_for(stages, monkeypatch):
    from mibgscore.lesions.types import RejectedFocus

    class Rejecting(HottestPixel):
        def find(self, views, skeleton, uptake):
            out = super().find(views, skeleton, uptake)
            return replace(out, focal=(), rejected=(RejectedFocus(out.focal[0],
                                                                  "salivary_glands", 0.2),))

    monkeypatch.setitem(registry._REGISTRY, "test-rejecting", DetectorEntry(
        "test-rejecting", "test", lambda p: Rejecting(), lambda: None, preference=998))
    r = score(_scan(), params=ScoreParams(lesion_method="test-rejecting"))
    assert r.siopen_total == 0 and not r.lesions
    assert ("salivary_glands", *HOT) in [(f.label, f.row, f.col) for f in r.findings]
