"""Rescoring carries the reader's lesion edits to the new automatic lesion list."""

from mibgscore.app.models import SAME_LESION_PX, carry_edits


def _lesion(lid, kind, row, col, siopen, *, source="auto", rejected=None):
    return {"id": lid, "kind": kind, "row": row, "col": col, "siopen": siopen, "curie": None,
            "fraction": None, "confidence": 0.9, "source": source, "rejected": rejected}


def test_a_rejection_follows_the_same_lesion():
    old = [_lesion(1, "focal", 100, 50, "spine", rejected="artefact"),
           _lesion(2, "focal", 300, 60, "pelvis")]
    new = [_lesion(1, "focal", 301, 61, "pelvis"),
           _lesion(2, "focal", 100 + SAME_LESION_PX, 50 - SAME_LESION_PX, "spine"),
           _lesion(3, "diffuse", 100, 50, "spine")]
    out, dropped = carry_edits(old, new)
    assert [x["rejected"] for x in out] == [None, "artefact", None]  # not the diffuse one
    assert dropped == []


def test_a_rejection_without_its_lesion_is_reported():
    old = [_lesion(1, "focal", 100, 50, "spine", rejected="physiological")]
    new = [_lesion(1, "focal", 100 + SAME_LESION_PX + 1, 50, "spine")]
    out, dropped = carry_edits(old, new)
    assert out[0]["rejected"] is None and dropped == [1]


def test_a_segment_graded_0_stays_0_and_the_readers_lesions_stay():
    old = [_lesion(1, "focal", 100, 50, "skull", rejected="not_abnormal"),
           _lesion(2, "focal", 400, 40, "pelvis", rejected="not_abnormal"),
           _lesion(3, "focal", 410, 45, "pelvis"),
           _lesion(4, "focal", 200, 70, "spine", source="reader")]
    new = [_lesion(1, "focal", 20, 20, "skull"), _lesion(2, "focal", 420, 30, "pelvis")]
    out, dropped = carry_edits(old, new)
    assert [(x["id"], x["siopen"], x["source"], x["rejected"]) for x in out] == [
        (1, "skull", "auto", "not_abnormal"),  # every skull lesion was rejected: graded 0
        (2, "pelvis", "auto", None),           # the pelvis kept a lesion: not graded 0
        (3, "spine", "reader", None)]          # the reader's focus, numbered after
    assert dropped == [2]
    assert old[3]["id"] == 4  # the old list is not changed
