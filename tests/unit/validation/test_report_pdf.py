"""The validation report as printed: overlays inside the page, counted nouns, no "-0.00"."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from mibgscore.anatomy.scheme import SIOPEN_KEYS
from mibgscore.report.naming import overlay_name
from mibgscore.validation.compare import ValidateOptions, validate
from mibgscore.validation.report import _ci, _fmt, plural

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None
                                or shutil.which("pdftotext") is None,
                                reason="poppler-utils absent")

GRADES = [[1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 12, [3, 2, 4, 4, 1, 1, 1, 1, 2, 2, 2, 2],
          [2, 1, 2, 2, 0, 0, 0, 0, 1, 0, 1, 0], [6, 4, 6, 5, 3, 3, 3, 3, 4, 4, 4, 4],
          [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]]


def _csv(path, rows, with_file: bool):
    head = ["study_uid", "patient_id", "study_date", *(["file"] if with_file else []),
            *SIOPEN_KEYS]
    lines = [",".join(head)]
    for i, g in enumerate(rows):
        lines.append(",".join([f"1.2.3.{i}", f"P{i}", "2024-01-15",
                               *([f"/scans/case_{i:03d}.dcm"] if with_file else []),
                               *map(str, g)]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vpdf")
    auto = [list(g) for g in GRADES]
    auto[2][0] += 2  # one discordant study only
    _csv(folder / "results.csv", auto, with_file=True)
    _csv(folder / "readings.csv", GRADES, with_file=False)
    overlays = folder / "overlays"
    overlays.mkdir()
    # an overlay as wide as those of `batch --overlay` (views and tables: 1400 x 1000 px)
    picture = np.full((1000, 1400, 3), 60, np.uint8)
    Image.fromarray(picture).save(overlays / overlay_name("/scans/case_002.dcm", "1.2.3.2"))
    out = folder / "out"
    m = validate(folder / "results.csv", folder / "readings.csv", out,
                 options=ValidateOptions(n_resamples=100, pdf=True, overlay_dir=overlays,
                                         make_overlays=False))
    return out, m


def test_the_discordant_overlay_stays_inside_the_page(printed, tmp_path):
    out, _ = printed
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(out / "report.pdf"),
                    str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    dark_pages = 0
    for page in pages:
        grey = np.asarray(Image.open(page).convert("L")).astype(int)
        margin = round(10 / 210 * grey.shape[1])  # the right 10 mm of A4
        dark = (grey < 100)
        if dark.sum() > 2000:
            dark_pages += 1
        edge = dark[:, -margin:].sum()
        assert edge == 0, f"{page.name}: {edge} dark pixels in the right margin"
    assert dark_pages >= 1, "the overlay is not in the PDF"


def test_counted_nouns_and_no_signed_zero(printed):
    out, m = printed
    html = (out / "report.html").read_text(encoding="utf-8")
    text = " ".join(html.split())
    assert "The 1 study with the largest disagreement" in text
    assert not re.search(r"\b1 (studies|readers|pairs)\b", text)
    assert "6 studies scored by mibgscore" in text
    pdf_text = subprocess.run(["pdftotext", str(out / "report.pdf"), "-"], capture_output=True,
                              text=True, timeout=60, check=True).stdout
    assert not re.search(r"-0\.0+(?!\d*[1-9])\b", pdf_text), "a signed zero is printed"
    assert "1 studies" not in pdf_text


def test_numbers_never_show_a_signed_zero():
    assert _ci([-0.0004, 0.5], 2) == "0.00 to 0.50"
    assert _ci([-0.004, -0.0001], 3) == "-0.004 to 0.000"
    assert _fmt(-0.001, 2) == "0.00" and _fmt(-0.2, 2) == "-0.20"
    assert plural(1, "study", "studies") == "1 study" and plural(0, "study", "studies") == \
        "0 studies"
