"""Hostile inputs (issue 14) are refused from the header, before any pixel is decoded or any
array allocated, each with one sentence naming the file; zips are checked member by member
from their headers and unpacked in a stream."""

from __future__ import annotations

import resource
import time
import warnings

import hostile_files as hostile
import pytest
from nm_files import write_nm

from mibgscore.errors import InputError
from mibgscore.io import iter_scans, read_scan
from mibgscore.io.limits import check_body


def _only_error(path) -> InputError:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = list(iter_scans([path]))
    assert time.perf_counter() - t0 < 5.0, f"{path.name}: {time.perf_counter() - t0:.1f} s"
    assert len(items) == 1 and isinstance(items[0], InputError), items
    text = str(items[0])
    assert text.startswith((f"{path.name}: ", f"{path.name}!")) and "\n" not in text, text
    return items[0]


@pytest.mark.parametrize("n", [16384, 65536, 10_000_000, 2_147_483_647, -1])
def test_frame_counts_are_refused_from_the_header(tmp_path, n):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err = _only_error(hostile.frames(tmp_path / "f.dcm", n))
    assert f"declares {n:,} frames" in str(err)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    assert grown_mib < 50, f"peak memory grew by {grown_mib:.0f} MiB"


@pytest.mark.parametrize("build", [hostile.compressed_rows_65535, hostile.jpegls_rows_65535])
def test_compressed_data_re_headed_to_65535_rows_is_refused(tmp_path, build):
    err = _only_error(build(tmp_path / "big.dcm"))
    assert "65535 x 65535 pixels" in str(err) and "at most 4096 x 4096" in str(err)


def test_unreadable_number_of_frames(tmp_path):
    assert "NumberOfFrames" in str(_only_error(hostile.frames(tmp_path / "f.dcm", "abc")))


@pytest.mark.parametrize("value", ["1e-9", "1e-308", "0.001", "0.01", "1000", "inf"])
def test_implausible_pixel_spacing_is_refused_in_one_sentence(tmp_path, value):
    err = _only_error(hostile.spacing(tmp_path / "s.dcm", value))
    assert "Pixel Spacing" in str(err) and "a whole-body scan is" in str(err)
    assert "(0028,0030)" in str(err)


def test_plausible_spacing_is_read_and_a_body_height_mismatch_is_a_warning(tmp_path):
    assert read_scan(hostile.spacing(tmp_path / "s.dcm", "2.4")).spacing_mm == (2.4, 2.4)
    note = check_body(400.0, 150.0, 0.4, "Pixel Spacing")
    assert note and "40 cm long" in note and "150 cm" in note
    assert check_body(1450.0, 150.0, 2.4, "Pixel Spacing") is None
    assert check_body(400.0, None, 0.4, "Pixel Spacing") is None


def test_damaged_compressed_data_gives_one_sentence(tmp_path):
    assert "RLE" in str(_only_error(hostile.rle_bad_header(tmp_path / "r.dcm")))
    assert "JPEG 2000" in str(_only_error(hostile.j2k_garbage(tmp_path / "j.dcm")))


@pytest.fixture
def dicom(tmp_path) -> bytes:
    return write_nm(tmp_path / "ok.dcm").read_bytes()


def test_hostile_zips_are_refused_member_by_member(tmp_path, dicom):
    cases = {
        hostile.bad_crc_zip(tmp_path / "crc.zip", dicom): "Bad CRC-32",
        hostile.method99_zip(tmp_path / "m99.zip", dicom): "encrypted",
        hostile.encrypted_zip(tmp_path / "enc.zip", dicom): "encrypted",
        hostile.zip_in_zip(tmp_path / "nested.zip", 8): "a zip inside the zip",
        hostile.huge_member_zip(tmp_path / "huge.zip", dicom): "2,384 MiB",
        hostile.bomb_zip(tmp_path / "bomb.zip", 32): "zip bomb",
    }
    for path, words in cases.items():
        err = _only_error(path)
        assert words in str(err), str(err)


def test_a_zip_of_many_bad_members_gives_one_error(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "many.zip", "w") as zf:
        for i in range(30):
            zf.writestr(f"m{i:02d}.dcm", b"not dicom" * i)
    err = _only_error(tmp_path / "many.zip")
    assert str(err).startswith("many.zip: 30 of its members could not be read; the first, "
                               "m00.dcm: "), str(err)


def test_a_good_zip_still_reads(tmp_path, dicom):
    import zipfile

    with zipfile.ZipFile(tmp_path / "ok.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.dcm", dicom)
    assert read_scan(tmp_path / "ok.zip").anterior is not None
