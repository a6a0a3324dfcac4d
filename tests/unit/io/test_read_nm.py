"""The reader on hand-built NM files with the quirks real cameras write."""

from __future__ import annotations

import time

import numpy as np
import pydicom
import pytest
from nm_files import CT_IMAGE, MARKER, SC_IMAGE, nm_dataset, phantom, write, write_nm
from pydicom.sequence import Sequence
from pydicom.uid import RLELossless, generate_uid

from mibgscore.errors import InputError, NotDicomError, UnsupportedScanError, WrongTracerError
from mibgscore.io import iter_scans, read_scan, read_scans, scan_summary


def _marker_cols(image: np.ndarray) -> list[int]:
    return [int(c) for c in np.argwhere(image == 1000)[:, 1]]


@pytest.mark.parametrize("codes, how", [
    ("sct", "399321004, SCT"), ("srt", "G-5215, SRT"), ("retired", "G-5200, SRT")])
def test_multiframe_both_views_coded(tmp_path, codes, how):
    path = write_nm(tmp_path / "wb.dcm", codes=codes)
    scan = read_scan(path)
    assert scan.shape == (128, 48)
    assert scan.anterior.dtype == np.float32 and scan.posterior.dtype == np.float32
    assert how in scan.sources["anterior"].how
    assert "Detector Information Sequence item 1" in scan.sources["anterior"].how
    assert scan.sources["posterior"].frame == 1
    assert "mirrored" in scan.sources["posterior"].how
    assert scan.assumptions == (), scan.assumptions
    # The marker sits on the patient's right: the same column in both views after mirroring.
    assert _marker_cols(scan.anterior) == [MARKER[1]]
    assert _marker_cols(scan.posterior) == [MARKER[1]]
    assert scan.spacing_mm == (2.4, 2.4)
    stored = phantom("anterior", seed=1)
    assert scan.anterior.sum() == pytest.approx(float(stored.sum()))


def test_patient_study_tracer_and_camera(tmp_path):
    scan = read_scan(write_nm(tmp_path / "wb.dcm", patient_size_m=1.23, patient_age="006M"))
    p = scan.patient
    assert (p.patient_id, p.sex, p.height_cm, p.weight_kg) == ("P001", "F", 123.0, 22.0)
    assert p.age_years == 0.5
    assert str(p.birth_date) == "2019-01-10"
    assert scan.study.description == "MIBG whole body"
    assert str(scan.study.study_date) == "2026-01-15"
    assert len(scan.study.sop_instance_uids) == 1
    assert scan.tracer.status == "mibg" and scan.tracer.name == "123I-MIBG"
    assert scan.acquisition.collimator == "LEHR"
    assert scan.acquisition.energy_window_kev == (143.0, 175.0)


def test_age_from_birth_and_study_dates_when_patient_age_missing(tmp_path):
    scan = read_scan(write_nm(tmp_path / "wb.dcm", patient_age=None, patient_size_m=0.0))
    assert scan.patient.age_years == pytest.approx(7.01, abs=0.01)
    assert scan.patient.height_cm is None  # Patient's Size 0 means missing


def test_131i_mibg_code(tmp_path):
    scan = read_scan(write_nm(tmp_path / "wb.dcm", tracer="mibg131",
                              windows=((328.0, 400.0),)))
    assert scan.tracer.status == "mibg" and scan.tracer.name == "131I-MIBG"


def test_root_level_view_code_one_view_per_file(tmp_path):
    study = generate_uid()
    series = generate_uid()
    write_nm(tmp_path / "a.dcm", views=("anterior",), codes="root", study_uid=study,
             series_uid=series, detector_info=False)
    write_nm(tmp_path / "p.dcm", views=("posterior",), codes="root", study_uid=study,
             series_uid=series, detector_info=False, instance_number=2)
    scan = read_scan(tmp_path)
    assert "at the top level" in scan.sources["anterior"].how
    assert scan.sources["anterior"].file.endswith("a.dcm")
    assert scan.sources["posterior"].file.endswith("p.dcm")
    assert _marker_cols(scan.posterior) == [MARKER[1]]
    assert len(scan.study.sop_instance_uids) == 2


def test_views_from_series_description_without_detector_information(tmp_path):
    study = generate_uid()
    write_nm(tmp_path / "1.dcm", views=("posterior",), codes=None, detector_info=False,
             study_uid=study, series_description="WB POST 10cm/min")
    write_nm(tmp_path / "2.dcm", views=("anterior",), codes=None, detector_info=False,
             study_uid=study, series_description="WB_ANT")
    scan = read_scan(tmp_path)
    assert scan.sources["anterior"].file.endswith("2.dcm")
    assert "Series Description 'WB_ANT'" in scan.sources["anterior"].how
    assert any("view taken from Series Description" in a for a in scan.assumptions)
    assert "paired across two series" in " ".join(scan.assumptions)
    assert _marker_cols(scan.anterior) == _marker_cols(scan.posterior) == [MARKER[1]]


def test_views_by_position_when_nothing_names_them(tmp_path):
    scan = read_scan(write_nm(tmp_path / "wb.dcm", codes=None, detector_info=False,
                              series_description="WHOLE BODY"))
    assert "position in the file" in scan.sources["anterior"].how
    assert sum("position in the file" in a for a in scan.assumptions) == 2
    assert _marker_cols(scan.posterior) == [MARKER[1]]


def test_frame_increment_pointer_with_single_values(tmp_path):
    """One view per file: pydicom gives Detector Vector as a bare int (VM 1)."""
    path = write_nm(tmp_path / "a.dcm", views=("anterior",))
    assert isinstance(pydicom.dcmread(path).DetectorVector, int)
    scan = read_scan(path, allow_single_view=True)
    assert scan.posterior is None and scan.sources["anterior"].frame == 0


def test_two_energy_windows_take_the_photopeak(tmp_path):
    # Window 1 (scatter, 126-154 keV) doubled in counts; window 2 holds 159 keV.
    path = write_nm(tmp_path / "wb.dcm", windows=((126.0, 154.0), (143.0, 175.0)),
                    window_level=(2.0, 1.0))
    assert pydicom.dcmread(path).NumberOfFrames == 4
    scan = read_scan(path)
    assert (scan.sources["anterior"].frame, scan.sources["posterior"].frame) == (2, 3)
    assert scan.acquisition.energy_window_kev == (143.0, 175.0)
    assert scan.anterior.sum() == pytest.approx(float(phantom("anterior", seed=1).sum()))
    assert scan.tracer.status == "mibg"


def test_windows_without_159_kev_take_the_most_counts(tmp_path):
    path = write_nm(tmp_path / "wb.dcm", windows=((60.0, 80.0), (300.0, 330.0)),
                    window_level=(1.0, 3.0))
    scan = read_scan(path)
    assert scan.sources["anterior"].frame == 2
    assert any("most counts" in a for a in scan.assumptions)


def test_rle_compressed(tmp_path):
    ds = nm_dataset()
    ds.compress(RLELossless)
    scan = read_scan(write(ds, tmp_path / "rle.dcm"))
    assert scan.acquisition.transfer_syntax_uid == RLELossless
    assert scan.anterior.sum() == pytest.approx(float(phantom("anterior", seed=1).sum()))
    assert _marker_cols(scan.posterior) == [MARKER[1]]


def test_rescale_slope_and_intercept_applied(tmp_path):
    ds = nm_dataset()
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "1"
    scan = read_scan(write(ds, tmp_path / "wb.dcm"))
    assert scan.anterior[MARKER] == pytest.approx(501.0)


def test_orientation_attributes_contradicting_the_convention_raise_a_warning(tmp_path):
    ds = nm_dataset()
    ds.DetectorInformationSequence[0].ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    ds.DetectorInformationSequence[1].ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    scan = read_scan(write(ds, tmp_path / "wb.dcm"))
    assert _marker_cols(scan.posterior) == [MARKER[1]]  # mirrored all the same
    assert any("check the patient's right side" in a for a in scan.assumptions)
    ds.DetectorInformationSequence[1].ImageOrientationPatient = [-1, 0, 0, 0, 0, -1]
    scan = read_scan(write(ds, tmp_path / "wb2.dcm"))
    assert scan.assumptions == ()


def test_secondary_capture_without_spacing_estimated_from_height(tmp_path):
    # Body spans rows 12..115 (104 rows); 120 cm over 104 rows = 11.5 mm is implausible for the
    # phantom, so use a 200-row matrix where the body spans 160 rows: 1200 mm / 160 = 7.5 mm.
    ds = nm_dataset(sop_class=SC_IMAGE, spacing=None, rows=200, patient_size_m=1.2)
    scan = read_scan(write(ds, tmp_path / "sc.dcm"))
    assert scan.spacing_mm[0] == pytest.approx(1200 / 160, rel=0.05)
    assert any("Secondary Capture" in a and "patient height" in a for a in scan.assumptions)


def test_spacing_from_age_then_default(tmp_path):
    scan = read_scan(write_nm(tmp_path / "a.dcm", spacing=None, rows=400, patient_size_m=None,
                              patient_age="005Y"))
    # Median height at 5 years is 110 cm; the body spans 320 of 400 rows.
    assert scan.spacing_mm[0] == pytest.approx(1100 / 320, rel=0.05)
    assert any("patient age" in a for a in scan.assumptions)
    ds = nm_dataset(spacing=None, patient_size_m=None, patient_age=None)
    del ds.PatientBirthDate
    scan = read_scan(write(ds, tmp_path / "b.dcm"))
    assert scan.spacing_mm == (2.4, 2.4)
    assert any("2.4 mm assumed" in a for a in scan.assumptions)


# ----------------------------------------------------------------------------- refusals


def test_text_file_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("anterior and posterior whole body\n")
    with pytest.raises(NotDicomError, match=r"notes.txt: is not a DICOM file"):
        read_scan(path)


def test_ct_refused(tmp_path):
    path = write_nm(tmp_path / "ct.dcm", modality="CT", sop_class=CT_IMAGE)
    with pytest.raises(UnsupportedScanError, match=r"ct.dcm: is a CT \(Modality CT\), not a "
                                                   r"nuclear medicine whole-body scan"):
        read_scan(path)


def test_truncated_pixel_data_refused(tmp_path):
    path = write_nm(tmp_path / "cut.dcm")
    data = path.read_bytes()
    path.write_bytes(data[:-5000])
    with pytest.raises(InputError, match=r"cut.dcm: has truncated pixel data"):
        read_scan(path)


def test_truncated_header_refused(tmp_path):
    path = write_nm(tmp_path / "cut.dcm")
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(InputError, match=r"cut.dcm: "):
        read_scan(path)


def test_zero_counts_refused(tmp_path):
    zero = np.zeros((128, 48), np.uint16)
    path = write(nm_dataset(pixels={"anterior": zero, "posterior": zero}), tmp_path / "z.dcm")
    with pytest.raises(InputError, match=r"z.dcm: the anterior view holds no counts"):
        read_scan(path)


def test_spot_view_refused(tmp_path):
    path = write_nm(tmp_path / "spot.dcm", image_type=("ORIGINAL", "PRIMARY", "STATIC", "EMISSION"))
    with pytest.raises(UnsupportedScanError, match="spot views are not supported yet"):
        read_scan(path)


def test_single_view_refused_unless_allowed(tmp_path):
    path = write_nm(tmp_path / "a.dcm", views=("posterior",))
    with pytest.raises(UnsupportedScanError,
                       match=r"a.dcm: only the posterior view was found; the anterior view is "
                             r"missing.*--single-view"):
        read_scan(path)
    scan = read_scan(path, allow_single_view=True)
    assert scan.anterior is None and scan.posterior is not None
    assert _marker_cols(scan.posterior) == [MARKER[1]]
    assert "only the posterior view was found: the anterior view is missing" in scan.assumptions


def test_bone_scan_tracer_refused_unless_forced(tmp_path):
    path = write_nm(tmp_path / "bone.dcm", tracer="mdp", windows=((126.0, 154.0),),
                    study_description="WB")
    with pytest.raises(WrongTracerError, match=r"bone.dcm: the tracer is Technetium Tc99m "
                                               r"medronate .*not MIBG; use --force"):
        read_scan(path)
    scan = read_scan(path, force=True)
    assert scan.tracer.status == "other"
    assert any("read anyway because of --force" in a for a in scan.assumptions)


def test_tc99m_energy_window_without_tracer_sequence_refused(tmp_path):
    path = write_nm(tmp_path / "tc.dcm", tracer=None, windows=((126.0, 154.0),),
                    study_description="WB", series_description="WB")
    with pytest.raises(WrongTracerError, match=r"99mTc.*140 keV"):
        read_scan(path)


def test_bone_description_refused(tmp_path):
    path = write_nm(tmp_path / "b.dcm", tracer=None, study_description="Skeletal scintigraphy "
                    "99mTc-HDP", series_description="WB")
    with pytest.raises(WrongTracerError, match=r"b.dcm: the study looks like a 99mTc bone scan"):
        read_scan(path)


def test_no_tracer_information_is_an_assumption(tmp_path):
    scan = read_scan(write_nm(tmp_path / "wb.dcm", tracer=None, study_description="WB",
                              series_description="Whole body"))
    assert scan.tracer.status == "unknown"
    assert "no tracer information in the file: taken to be 123I-MIBG" in scan.assumptions


def test_tracer_text_only(tmp_path):
    ds = nm_dataset(tracer="mibg")
    del ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalCodeSequence
    ds.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical = "I-123 iobenguane"
    scan = read_scan(write(ds, tmp_path / "wb.dcm"))
    assert scan.tracer.status == "mibg" and scan.tracer.how == "Radiopharmaceutical text"


def test_views_of_different_sizes_refused(tmp_path):
    study = generate_uid()
    write_nm(tmp_path / "a.dcm", views=("anterior",), study_uid=study)
    write_nm(tmp_path / "p.dcm", views=("posterior",), study_uid=study, rows=64)
    with pytest.raises(UnsupportedScanError, match="differ in size"):
        read_scan(tmp_path)


def test_iter_scans_never_raises_for_bad_files(tmp_path):
    (tmp_path / "junk.dcm").write_bytes(b"\x00" * 300)
    write_nm(tmp_path / "good.dcm")
    write_nm(tmp_path / "ct.dcm", modality="CT", sop_class=CT_IMAGE)
    items = list(iter_scans([tmp_path, tmp_path / "missing.dcm"]))
    errors = [i for i in items if isinstance(i, InputError)]
    scans = [i for i in items if not isinstance(i, InputError)]
    assert len(scans) == 1
    assert sorted(e.path.rsplit("/", 1)[-1] for e in errors) == ["ct.dcm", "junk.dcm",
                                                                  "missing.dcm"]
    assert len(read_scans([tmp_path])) == 1


def test_several_studies_refused_by_read_scan(tmp_path):
    write_nm(tmp_path / "1.dcm")
    write_nm(tmp_path / "2.dcm")
    with pytest.raises(InputError, match=r"holds 2 studies; use read_scans"):
        read_scan(tmp_path)
    assert len(read_scans(tmp_path)) == 2


def test_two_complete_series_in_one_study_give_two_scans(tmp_path):
    study = generate_uid()
    write_nm(tmp_path / "early.dcm", study_uid=study)
    write_nm(tmp_path / "late.dcm", study_uid=study)
    scans = read_scans([tmp_path])
    assert len(scans) == 2 and {s.study.study_uid for s in scans} == {study}
    with pytest.raises(InputError, match="2 scans of one study"):
        read_scan(tmp_path)


def test_summary_is_json_ready(tmp_path):
    import json

    summary = scan_summary(read_scan(write_nm(tmp_path / "wb.dcm")))
    text = json.dumps(summary)
    assert json.loads(text)["views"]["posterior"]["frame"] == 1
    assert summary["tracer"]["status"] == "mibg"


def test_reading_a_256_by_1024_two_frame_file_is_fast(tmp_path):
    path = write_nm(tmp_path / "big.dcm", rows=1024, cols=256)
    read_scan(path)
    t0 = time.perf_counter()
    for _ in range(5):
        read_scan(path)
    seconds = (time.perf_counter() - t0) / 5
    # Not a timed assertion on speed targets (see benchmarks); only a guard against a 10x slip.
    assert seconds < 0.5, f"{seconds:.3f} s per read"


def test_detector_sequence_length_mismatch_falls_back(tmp_path):
    ds = nm_dataset(codes="sct")
    ds.DetectorInformationSequence = Sequence([ds.DetectorInformationSequence[0]])
    scan = read_scan(write(ds, tmp_path / "wb.dcm"))
    assert "View Code Sequence" in scan.sources["anterior"].how
    assert "posterior" in scan.sources and "mirrored" in scan.sources["posterior"].how


def test_reports_beside_the_images_are_skipped_but_refused_alone(tmp_path):
    from pydicom.dataset import Dataset, FileMetaDataset

    write_nm(tmp_path / "wb.dcm")
    sr = Dataset()
    sr.file_meta = FileMetaDataset()
    sr.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    sr.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    sr.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    sr.SOPClassUID, sr.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.88.33", generate_uid()
    sr.Modality, sr.SeriesInstanceUID = "SR", generate_uid()
    report = write(sr, tmp_path / "report.dcm")
    items = list(iter_scans([tmp_path]))
    assert len(items) == 1 and not isinstance(items[0], InputError)
    with pytest.raises(UnsupportedScanError, match=r"report.dcm: is a structured report, not an "
                                                   r"image"):
        read_scan(report)
