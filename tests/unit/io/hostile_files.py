"""The hostile shapes of issue 14, built from a small hand-made NM file (test helper).

Each builder writes one file and returns its path: compressed pixel data that crashes or
exhausts a decoder, headers that would allocate gigabytes, implausible pixel spacings, and
hostile zip archives.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
from nm_files import nm_dataset, write
from pydicom.dataelem import RawDataElement
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless


def j2k_garbage(path: Path, seed: int = 0) -> Path:
    """JPEG 2000 syntax, fragments ``FF4F FF51`` + 200 random bytes (gdcm aborts on them)."""
    rng = np.random.default_rng(seed)
    ds = nm_dataset()
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + rng.bytes(200) for _ in range(2)])
    ds["PixelData"].VR = "OB"
    return write(ds, path)


def compressed_rows_65535(path: Path, syntax=RLELossless) -> Path:
    """Compressed (RLE or JPEG-LS) pixel data re-headed to Rows = Columns = 65535."""
    ds = nm_dataset()
    ds.compress(syntax)
    ds.Rows = ds.Columns = 65535
    return write(ds, path)


def jpegls_rows_65535(path: Path) -> Path:
    return compressed_rows_65535(path, JPEGLSLossless)


def rle_bad_header(path: Path) -> Path:
    """RLE whose segment header announces 15 segments (pydicom logs a traceback on it)."""
    ds = nm_dataset()
    ds.compress(RLELossless)
    header = struct.pack("<16L", 15, *[64 + 10 * i for i in range(15)])
    ds.PixelData = encapsulate([header + b"\x00" * 40 for _ in range(2)])
    return write(ds, path)


def frames(path: Path, n: int | str) -> Path:
    """Number of Frames (0028,0008) set to ``n``, the pixel data left as it was."""
    ds = nm_dataset()
    value = str(n).encode()
    value += b" " * (len(value) % 2)
    ds[0x00280008] = RawDataElement(0x00280008, "IS", len(value), value, 0, False, True)
    return write(ds, path)


def spacing(path: Path, value: str) -> Path:
    """Pixel Spacing (0028,0030) written as the text ``value`` (e.g. ``1e-308``)."""
    ds = nm_dataset()
    text = f"{value}\\{value}".encode()
    text += b" " * (len(text) % 2)
    ds[0x00280030] = RawDataElement(0x00280030, "DS", len(text), text, 0, False, True)
    return write(ds, path)


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return bytearray(buf.getvalue())


def bad_crc_zip(path: Path, dicom: bytes) -> Path:
    """A zip whose one member has a byte changed (CRC mismatch)."""
    raw = _zip({"a.dcm": dicom}, zipfile.ZIP_STORED)
    raw[30 + len("a.dcm") + 400] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def _patch_headers(raw: bytearray, offset_local: int, offset_central: int, value: bytes
                   ) -> None:
    for sig, off in ((b"PK\x03\x04", offset_local), (b"PK\x01\x02", offset_central)):
        at = raw.find(sig)
        raw[at + off:at + off + len(value)] = value


def method99_zip(path: Path, dicom: bytes) -> Path:
    """Compression method 99 (AES) in both headers."""
    raw = _zip({"a.dcm": dicom})
    _patch_headers(raw, 8, 10, struct.pack("<H", 99))
    path.write_bytes(bytes(raw))
    return path


def encrypted_zip(path: Path, dicom: bytes) -> Path:
    """The encryption flag set on the member (bit 0 of the flags)."""
    raw = _zip({"a.dcm": dicom})
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(sig)
        raw[at + off] |= 1
    path.write_bytes(bytes(raw))
    return path


def zip_in_zip(path: Path, inner_mib: int = 64) -> Path:
    """A zip holding a zip whose member is ``inner_mib`` MiB of zeros."""
    inner = _zip({"zeros.dcm": b"\0" * (inner_mib * 2**20)})
    path.write_bytes(bytes(_zip({"inner.zip": bytes(inner)})))
    return path


def huge_member_zip(path: Path, dicom: bytes, size: int = 2_500_000_000) -> Path:
    """A member whose central directory declares ``size`` bytes unpacked."""
    raw = _zip({"a.dcm": dicom})
    at = raw.find(b"PK\x01\x02")
    raw[at + 24:at + 28] = struct.pack("<L", size)
    path.write_bytes(bytes(raw))
    return path


def bomb_zip(path: Path, mib: int = 64) -> Path:
    """A member of ``mib`` MiB of zeros, packed about a thousand times smaller."""
    path.write_bytes(bytes(_zip({"zeros.dcm": b"\0" * (mib * 2**20)})))
    return path
