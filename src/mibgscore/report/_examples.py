"""Make the documentation pictures of the report outputs from simulated studies.

Run ``python -m mibgscore.report._examples docs/images`` (needs ``pdftoppm`` for the PDF page).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = (("normal", 101), ("limited", 102), ("extensive", 103))


def main(outdir: str | Path) -> list[Path]:
    """Write overlay_<category>.png, report_page1.png and report_page1_fr.png to ``outdir``."""
    from PIL import Image

    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.pipeline import score
    from mibgscore.report.overlay import render_overlay
    from mibgscore.report.pdf import reading_pdf
    from mibgscore.report.types import Amendment, GradeChange, PriorComparison, ReadingReport
    from mibgscore.report.views import render_views
    from mibgscore.simulate.study import simulate_study

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    scored = {}
    for category, seed in CASES:
        scan = simulate_study(seed, category=category).scan
        result = score(scan)
        scored[category] = (scan, result)
        path = out / f"overlay_{category}.png"
        png = render_overlay(scan, result,
                             title=f"Simulated {category} case (seed {seed}): automatic reading")
        with Image.open(io.BytesIO(png)) as im:  # smaller files for the repository
            im.save(path, optimize=True)
        written.append(path)

    scan, result = scored["limited"]
    final = dict(result.siopen)
    changed = max(final, key=lambda k: final[k])  # the reader changes one grade
    top = load_scheme("siopen").max_grade
    final[changed] = min(final[changed] + 1, top)
    prior_scan, prior_result = scored["extensive"]  # stands in for the same child earlier
    prior = dict(prior_result.siopen)
    prior_date = (scan.study.study_date or dt.date(2025, 5, 17)) - dt.timedelta(days=120)
    day = scan.study.study_date or dt.date(2025, 5, 17)
    signed = dt.datetime(day.year, day.month, day.day, 16, 30, tzinfo=dt.UTC)
    report = ReadingReport.from_scan(
        scan, result, siopen=final,
        pictures=render_views(scan, final, _map(result), body_box_from=result),
        reader="Dr A. Martin", signed_at=signed, institution="Demonstration centre",
        impression="Skeletal disease of the skull and limbs, less extensive than on the "
                   "prior study.",
        prior=PriorComparison(prior_date, prior, pictures=render_views(
            prior_scan, prior, _map(prior_result), body_box_from=prior_result)),
        amendments=(Amendment(signed + dt.timedelta(hours=3), "Dr A. Martin",
                              reason="second look at the posterior view",
                              changes=(GradeChange("siopen", changed, final[changed] - 1,
                                                   final[changed]),)),))
    for lang, name in (("en", "report_page1.png"), ("fr", "report_page1_fr.png")):
        pdf = reading_pdf(dataclasses.replace(report, language=lang))
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "r.pdf"
            src.write_bytes(pdf)
            subprocess.run(["pdftoppm", "-r", "100", "-png", "-f", "1", "-l", "1",
                            "-singlefile", str(src), str(Path(tmp) / "page")], check=True)
            (out / name).write_bytes((Path(tmp) / "page.png").read_bytes())
        written.append(out / name)
    return written


def _map(result):
    """The SIOPEN segment map of a scored result (None without evidence)."""
    return getattr(getattr(result, "evidence", None), "siopen_map", None)


if __name__ == "__main__":  # pragma: no cover
    for p in main(sys.argv[1] if len(sys.argv) > 1 else "docs/images"):
        sys.stdout.write(f"{p}\n")
