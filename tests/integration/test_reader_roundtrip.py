"""Scan -> io.write.write_nm -> read_scan gives back the same pixels and facts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from mibgscore.io import read_scan
from mibgscore.io.types import Acquisition, Patient, Scan, Study

write_module = pytest.importorskip("mibgscore.io.write")


def _scan(rows: int = 256, cols: int = 64) -> Scan:
    rng = np.random.default_rng(11)
    ant = rng.poisson(30.0, (rows, cols)).astype(np.float32)
    post = rng.poisson(20.0, (rows, cols)).astype(np.float32)
    ant[40, 10] = post[40, 10] = 5000.0  # on the patient's right in both (Scan orientation)
    return Scan(
        anterior=ant, posterior=post, spacing_mm=(3.1, 3.1),
        patient=Patient(patient_id="RT1", name="Round^Trip", birth_date=dt.date(2018, 3, 1),
                        age_years=8.0, sex="M", height_cm=128.0, weight_kg=25.0),
        study=Study(study_uid="1.2.826.0.1.3680043.10.1524.77", study_date=dt.date(2026, 5, 2),
                    description="MIBG WB"),
        acquisition=Acquisition(manufacturer="Sim", model="Cam", collimator="LEHR"),
    )


def test_written_scan_reads_back_the_same(tmp_path):
    scan = _scan()
    path = tmp_path / "rt.dcm"
    write_module.write_nm(scan, path)
    back = read_scan(path)
    np.testing.assert_array_equal(back.anterior, scan.anterior)
    np.testing.assert_array_equal(back.posterior, scan.posterior)
    assert back.spacing_mm == (3.1, 3.1)
    assert back.tracer.status == "mibg" and back.tracer.code == "395787009"
    assert back.study.study_uid == scan.study.study_uid
    p = back.patient
    assert (p.patient_id, p.sex, p.height_cm, p.weight_kg) == ("RT1", "M", 128.0, 25.0)
    assert 8.0 <= p.age_years < 9.0  # Patient's Age 008Y, refined by the birth and study dates
    assert back.acquisition.collimator == "LEHR"
    assert back.assumptions == (), back.assumptions
    assert "399321004, SCT" in back.sources["anterior"].how
    assert "399001007, SCT" in back.sources["posterior"].how
