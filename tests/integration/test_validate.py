"""validate(): from readings files to metrics.json, per_study.csv and a self-contained report."""

import csv
import json
import re

import numpy as np
import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.errors import ReadingsFileError
from mibgscore.validation import stats
from mibgscore.validation.cohort import match_studies
from mibgscore.validation.compare import ValidateOptions, validate
from mibgscore.validation.readers import simulated_reader, synthetic_cohort, write_wide_csv
from mibgscore.validation.readings import read_readings
from mibgscore.validation.stats import pair_metrics


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    truth = synthetic_cohort(30, seed=4)  # 60 studies: diagnosis and after induction
    auto = [{k: v for k, v in r.items() if k != "reader"}
            for r in simulated_reader(truth, name="x", seed=21)]
    auto = auto[:-1]  # one study scored by nobody: must be listed, not dropped
    auto.append({**auto[0], "study_uid": "9.9.9", "patient_id": "EXTRA",
                 "study_date": "2021-01-01"})
    readers = [{**r, "reader": "Dr A"} for r in truth] + simulated_reader(truth, name="Dr B",
                                                                          seed=5)
    write_wide_csv(auto, folder / "results.csv")
    write_wide_csv(readers, folder / "readings.csv")
    return folder, truth, auto, readers


@pytest.fixture(scope="module")
def validated(cohort):
    folder, *_ = cohort
    out = folder / "out"
    metrics = validate(folder / "results.csv", folder / "readings.csv", out,
                       options=ValidateOptions(n_resamples=200, pdf=True))
    return out, metrics


def test_metrics_json_has_the_contract_keys(validated):
    out, metrics = validated
    data = json.loads((out / "metrics.json").read_text())
    assert data["n_studies"] == 59
    for block in ("siopen_total", "curie_total"):
        assert {"icc_a1", "icc_a1_ci", "mae", "bias", "loa", "spearman"} <= set(data[block])
        assert len(data[block]["icc_a1_ci"]) == 2 and len(data[block]["loa"]) == 2
    seg = data["siopen_segments"]
    assert {"weighted_kappa", "exact_agreement", "per_segment"} <= set(seg)
    assert list(seg["per_segment"]) == list(SIOPEN_KEYS)
    for v in seg["per_segment"].values():
        assert {"weighted_kappa", "exact_agreement"} <= set(v)
    assert list(data["curie_segments"]["per_segment"]) == list(CURIE_KEYS)
    for block in ("threshold_siopen_3", "threshold_curie_2"):
        assert {"accuracy", "sensitivity", "specificity", "kappa"} <= set(data[block])
    assert {"names", "icc_a1", "icc_c1"} <= set(data["readers"])
    assert data["readers"]["names"] == ["Dr A", "Dr B"]
    assert "software_within_spread" in data["readers"]
    assert metrics["siopen_total"]["icc_a1"] > 0.9, metrics["siopen_total"]["icc_a1"]


def test_metrics_equal_a_direct_computation(cohort, validated):
    _, truth, auto, _ = cohort
    _, metrics = validated
    by_uid = {r["study_uid"]: r for r in auto}
    pairs = [(by_uid[t["study_uid"]], t) for t in truth if t["study_uid"] in by_uid]
    a = np.array([p[0]["siopen_total"] for p in pairs], float)
    r = np.array([p[1]["siopen_total"] for p in pairs], float)
    assert metrics["siopen_total"]["icc_a1"] == pytest.approx(
        stats.icc(np.stack([a, r], 1), "A,1").value, abs=1e-12)
    assert metrics["siopen_total"]["bias"] == pytest.approx((a - r).mean())
    assert metrics["siopen_total"]["mae"] == pytest.approx(np.abs(a - r).mean())
    ga = np.array([p[0]["pelvis"] for p in pairs])
    gr = np.array([p[1]["pelvis"] for p in pairs])
    assert metrics["siopen_segments"]["per_segment"]["pelvis"]["weighted_kappa"] == \
        pytest.approx(stats.weighted_kappa(ga, gr), abs=1e-12)
    assert metrics["threshold_siopen_3"]["accuracy"] == pytest.approx(
        np.mean((a > 3) == (r > 3)))
    assert metrics["response_siopen"]["n_pairs"] > 20


def test_one_sided_studies_are_listed(validated):
    out, metrics = validated
    assert metrics["unmatched"]["auto_only"] == ["EXTRA 2021-01-01"]
    assert len(metrics["unmatched"]["reference_only"]) == 1
    html = (out / "report.html").read_text()
    assert "EXTRA 2021-01-01" in html
    assert metrics["unmatched"]["reference_only"][0] in html


def test_report_is_self_contained_and_names_the_model(validated):
    out, _ = validated
    html = (out / "report.html").read_text()
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) >= 6 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "<script" not in html
    assert "two-way random effects, absolute agreement, single measures" in html
    assert "McGraw &amp; Wong ICC(A,1)" in html
    assert "quadratic (Cohen 1968)" in html
    assert "Bland" in html and "Discordant studies" in html


def test_per_study_csv_ranks_discordant_studies(validated):
    out, metrics = validated
    with (out / "per_study.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == metrics["n_studies"]
    disagreement = [int(r["siopen_segment_disagreement"]) for r in rows]
    assert disagreement == sorted(disagreement, reverse=True)
    assert [int(r["disagreement_rank"]) for r in rows] == list(range(1, len(rows) + 1))
    r = rows[0]
    assert sum(abs(int(r[f"{k}_test"]) - int(r[f"{k}_reference"])) for k in SIOPEN_KEYS) == \
        disagreement[0]


def test_readers_only_and_reference_reader(cohort, tmp_path):
    folder, *_ = cohort
    m = validate(None, folder / "readings.csv", tmp_path / "r",
                 options=ValidateOptions(n_resamples=100))
    assert (m["test"], m["reference"]) == ("Dr B", "Dr A")
    assert m["mode"] == "readers_only"
    assert m["readers"]["icc_a1"] == pytest.approx(m["siopen_total"]["icc_a1"])
    ref = read_readings(folder / "readings.csv")
    c = match_studies(ref, None, reference_reader="Dr B")
    assert (c.test, c.reference) == ("Dr A", "Dr B")
    with pytest.raises(ReadingsFileError, match="reader 'Dr C' is not in the file"):
        match_studies(ref, None, reference_reader="Dr C")


def test_single_reader_without_auto_is_refused(cohort, tmp_path):
    _, truth, _, _ = cohort
    write_wide_csv([{**r, "reader": "A"} for r in truth], tmp_path / "one.csv")
    with pytest.raises(ReadingsFileError, match="single reader; give the automatic results"):
        validate(None, tmp_path / "one.csv", tmp_path / "o")


def test_no_common_study_is_refused(cohort, tmp_path):
    folder, truth, _, _ = cohort
    other = [{**r, "study_uid": r["study_uid"] + ".7", "patient_id": "Z" + r["patient_id"]}
             for r in truth]
    write_wide_csv(other, tmp_path / "other.csv")
    with pytest.raises(ReadingsFileError, match="only 0 studies read by both"):
        validate(tmp_path / "other.csv", folder / "readings.csv", tmp_path / "o")


def test_match_by_patient_and_date_when_uid_missing(cohort, tmp_path):
    folder, truth, _, _ = cohort
    rows = [{**r, "reader": "A", "study_uid": None} for r in truth]
    write_wide_csv(rows, tmp_path / "nouid.csv")
    c = match_studies(read_readings(tmp_path / "nouid.csv"),
                      read_readings(folder / "results.csv", default_reader="mibgscore"))
    m = pair_metrics(c.studies, c.test, c.reference, n_resamples=100)
    assert m["n_studies"] == 59
    assert len(c.reference_only) == 1 and c.auto_only == ["EXTRA 2021-01-01"]


def test_pdf_copy(validated):
    out, m = validated
    pdf = out / "report.pdf"
    assert m["outputs"]["pdf"] == str(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000


def test_three_readers_and_the_software_within_their_spread(cohort, tmp_path):
    from mibgscore.validation.stats import readers_metrics

    _, truth, _, _ = cohort
    readers = [{**r, "reader": "Dr A"} for r in truth]
    readers += simulated_reader(truth, name="Dr B", seed=31)
    readers += simulated_reader(truth, name="Dr C", seed=32)
    auto = [{k: v for k, v in r.items() if k != "reader"}
            for r in simulated_reader(truth, name="x", seed=33)]  # as good as a physician
    write_wide_csv(readers, tmp_path / "three.csv")
    write_wide_csv(auto, tmp_path / "auto.csv")
    c = match_studies(read_readings(tmp_path / "three.csv"),
                      read_readings(tmp_path / "auto.csv", default_reader="mibgscore"))
    r = readers_metrics(c, n_resamples=100)
    assert r["names"] == ["Dr A", "Dr B", "Dr C"]
    assert [(p["a"], p["b"]) for p in r["pairs"]] == [("Dr A", "Dr B"), ("Dr A", "Dr C"),
                                                       ("Dr B", "Dr C")]
    assert [p["b"] for p in r["software_vs_readers"]] == ["Dr A", "Dr B", "Dr C"]
    x = np.stack([[row["siopen_total"] for row in readers if row["reader"] == name]
                  for name in ("Dr A", "Dr B", "Dr C")], axis=1)
    assert r["icc_a1"] == pytest.approx(stats.icc(x, "A,1").value)
    assert r["icc_c1"] == pytest.approx(stats.icc(x, "C,1").value)
    assert r["software_within_spread"] is True, r["statement"]
    assert "within the spread of the physicians" in r["statement"]


def test_progress_and_what_scored_the_results(cohort, tmp_path):
    folder, *_ = cohort
    calls = []
    m = validate(folder / "results.csv", folder / "readings.csv", tmp_path / "p",
                 options=ValidateOptions(n_resamples=100, max_discordant=3),
                 progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 3 + 3) and calls[-1] == (6, 6), calls
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert m["schemes"] == {"siopen": "SIOPEN", "curie": "Curie"}
    assert m["models"] == [] and m["input"]["auto_schemes"] == []  # an older results.csv
    html = (tmp_path / "p" / "report.html").read_text()
    assert "segment tables SIOPEN and Curie" in html
    assert "lesion model not recorded in results.csv" in html


def test_report_plots_without_pyplot(cohort, tmp_path):
    """The plots use the object-oriented API: no pyplot state, no global backend switch."""
    import subprocess
    import sys

    folder, *_ = cohort
    code = ("import sys\nfrom mibgscore.validation.compare import ValidateOptions, validate\n"
            f"validate({str(folder / 'results.csv')!r}, {str(folder / 'readings.csv')!r}, "
            f"{str(tmp_path / 'o')!r}, options=ValidateOptions(n_resamples=100))\n"
            "print('matplotlib.pyplot' in sys.modules, 'matplotlib' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]


def test_overlays_are_scored_again_with_the_detector_results_csv_names():
    from mibgscore.validation.cohort import Provenance
    from mibgscore.validation.compare import _score_params

    def model(name):
        return {"name": name, "version": "1", "sha256": "", "n_studies": 1}

    assert _score_params(Provenance(models=(model("classic"),))).lesion_method == "classic"
    assert _score_params(Provenance()).lesion_method == "auto"
    assert _score_params(Provenance(models=(model("classic"), model("learned")))
                         ).lesion_method == "auto"
    assert _score_params(Provenance(models=(model("my_adapted_net"),))).lesion_method == "auto"
