"""One overlay naming rule for `score --overlay`, `batch --overlay` and `validate --overlay`."""

from mibgscore.report.naming import overlay_name


def test_overlay_names_differ_for_same_stem_in_two_folders():
    assert overlay_name("/a/IM0001", "1.2.3") != overlay_name("/b/IM0001", "1.2.4")
    assert overlay_name("/a/case_001.dcm", "1.2.3").startswith("case_001-")


def test_overlay_name_is_the_study_not_the_folder():
    assert overlay_name("/a/case_001.dcm", "1.2.3") == overlay_name("/b/case_001.dcm", "1.2.3")
    assert overlay_name("/a/case_001.dcm", "1.2.3") == "case_001-c47f5b18.png"
    assert overlay_name("/a/scan.zip", None) != overlay_name("/b/scan.zip", None)
    assert overlay_name("/a/.dcm", "1.2.3").startswith("study-")
