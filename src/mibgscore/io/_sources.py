"""Find DICOM files in what the user gave: files, folders, .zip archives and DICOMDIRs."""

from __future__ import annotations

import io
import logging
import lzma
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from mibgscore.errors import InputError, NotDicomError
from mibgscore.io.limits import DEFAULT_LIMITS, ReadLimits

logger = logging.getLogger(__name__)

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"

# Files met inside a folder or an archive that are surely not DICOM: skipped without a word.
_NOT_DICOM_SUFFIXES = frozenset({
    ".txt", ".csv", ".tsv", ".json", ".jsonl", ".xml", ".html", ".htm", ".md", ".rst", ".pdf",
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".svg", ".npy", ".npz", ".nii",
    ".gz", ".toml", ".ini", ".cfg", ".yaml", ".yml", ".log", ".py", ".xlsx", ".xls", ".db",
    ".sqlite", ".exe", ".bat", ".sh", ".inf", ".css", ".js",
})
_SKIPPED_NAMES = frozenset({"DICOMDIR", "Thumbs.db", "desktop.ini", "LOCKFILE", "VERSION"})


@dataclass(frozen=True)
class Source:
    """Where one DICOM file lies: a plain file, or a member of a zip archive."""

    path: str
    member: str | None = None
    given: bool = False  # named by the user itself, not found inside a folder or archive

    @property
    def label(self) -> str:
        """What the user is shown: the file path, or ``archive.zip!member``."""
        return self.path if self.member is None else f"{self.path}!{self.member}"

    @property
    def name(self) -> str:
        """Short name for messages: the file name, or ``archive.zip!member``."""
        if self.member is None:
            return Path(self.path).name
        return f"{Path(self.path).name}!{self.member}"

    def read_header(self) -> Dataset:
        """Parse the file, pixel data left unread; raise NotDicomError when it is not DICOM.

        A plain file's Pixel Data is deferred (read from disk when first used); an archive
        member's is skipped.
        """
        if self.member is None:
            limit = DEFAULT_LIMITS.max_member_bytes
            try:
                size = os.path.getsize(self.path)
            except OSError:
                size = 0  # _parse says why it cannot be opened
            if size > limit:
                raise InputError(f"is a file of {size / 2**20:,.0f} MiB, more than the "
                                 f"{limit / 2**20:.0f} MiB a whole-body scan takes",
                                 path=self.label)
            return _parse(self.path, self, header=True)
        return _parse(io.BytesIO(self._member_bytes()), self, header=True)

    def read_full(self) -> Dataset:
        """Parse the whole file, pixel data included (its header was checked before)."""
        src = self.path if self.member is None else io.BytesIO(self._member_bytes())
        try:
            return pydicom.dcmread(src, force=True)
        except Exception as exc:
            raise NotDicomError(f"is a damaged DICOM file ({_short(exc)})", path=self.label
                                ) from None

    def _member_bytes(self) -> bytes:
        """The member, unpacked in a stream that stops at the member limit (its CRC checked
        at the end by the zip module)."""
        limit = DEFAULT_LIMITS.max_member_bytes
        try:
            with zipfile.ZipFile(self.path) as zf:
                info = zf.getinfo(str(self.member))
                refusal = _member_refusal(info, DEFAULT_LIMITS)
                if refusal:
                    raise InputError(refusal, path=self.label)
                with zf.open(info) as fh:
                    data = fh.read(limit + 1)
        except InputError:
            raise
        except (zipfile.BadZipFile, OSError, KeyError, EOFError, RuntimeError, ValueError,
                NotImplementedError, zlib.error, lzma.LZMAError) as exc:
            raise InputError(f"cannot be extracted from its zip archive ({_short(exc)})",
                             path=self.label) from None
        if len(data) > limit:
            raise InputError(f"unpacks to more than {limit / 2**20:.0f} MiB, more than a "
                             f"whole-body scan takes", path=self.label)
        return data


_DEFER_BYTES = 64 * 1024


def _dcmread(src, header: bool, force: bool = False) -> Dataset:
    if header and isinstance(src, str):
        return pydicom.dcmread(src, defer_size=_DEFER_BYTES, force=force)
    return pydicom.dcmread(src, stop_before_pixels=header, force=force)


def _parse(src, source: Source, header: bool) -> Dataset:
    try:
        return _checked(_dcmread(src, header), source)
    except InvalidDicomError:
        pass
    except NotDicomError:
        raise
    except OSError as exc:
        raise InputError(f"cannot be opened ({exc.strerror or _short(exc)})", path=source.label
                         ) from None
    except Exception as exc:  # a DICOM preamble, then something broken
        raise NotDicomError(f"is a damaged DICOM file ({_short(exc)})", path=source.label) from None
    # No preamble: old ACR-NEMA style files still parse with force; text files do not make sense.
    if isinstance(src, str):
        with open(src, "rb") as fh:
            head = fh.read(132)
    else:
        src.seek(0)
        head = src.read(132)
        src.seek(0)
    if len(head) < 8 or head[:2] not in (b"\x08\x00", b"\x02\x00", b"\x00\x08", b"\x00\x02"):
        raise NotDicomError("is not a DICOM file", path=source.label)
    try:
        ds = _dcmread(src, header, force=True)
    except Exception:
        raise NotDicomError("is not a DICOM file", path=source.label) from None
    if "SOPClassUID" not in ds and "Rows" not in ds:
        raise NotDicomError("is not a DICOM file", path=source.label)
    return _checked(ds, source)


_PIXEL_DATA = 0x7FE00010


def _convert_all(ds: Dataset) -> None:
    for tag in list(ds.keys()):
        if tag == _PIXEL_DATA:
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _convert_all(item)


def _checked(ds: Dataset, source: Source) -> Dataset:
    """Convert every element now (pydicom parses lazily), so damage shows here, in one sentence."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _convert_all(ds)
            if hasattr(ds, "file_meta"):
                _convert_all(ds.file_meta)
    except NotDicomError:
        raise
    except Exception as exc:
        raise NotDicomError(f"is a damaged DICOM file ({_short(exc)})", path=source.label
                            ) from None
    return ds


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.rstrip(".")[:120]


def _wanted(name: str) -> bool:
    base = os.path.basename(name)
    if not base or base.startswith(".") or base in _SKIPPED_NAMES:
        return False
    return Path(base).suffix.lower() not in _NOT_DICOM_SUFFIXES


def _is_dicomdir(path: Path) -> bool:
    if path.name.upper() == "DICOMDIR":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return head[128:132] == b"DICM" and DICOMDIR_SOP_CLASS.encode() in head


def expand(paths: Iterable[str | os.PathLike]) -> Iterator[Source | InputError]:
    """Yield every candidate DICOM file under ``paths``, or an InputError for what cannot be read.

    Folders are walked (sorted, hidden files and obvious non-DICOM files skipped), .zip archives
    opened, DICOMDIRs followed to the files they list.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            yield InputError("does not exist", path=str(path))
        elif path.is_dir():
            yield from _expand_folder(path)
        elif zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
            yield from _expand_zip(path)
        elif _is_dicomdir(path):
            yield from _expand_dicomdir(path)
        else:
            yield Source(str(path), given=True)


def _expand_folder(folder: Path) -> Iterator[Source | InputError]:
    found = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            full = Path(root) / name
            if name.lower().endswith(".zip"):
                found += 1
                yield from _expand_zip(full)
            elif _wanted(name):
                found += 1
                yield Source(str(full))
    if not found:
        yield InputError("is an empty folder: it holds no DICOM files", path=str(folder))


_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
            zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
_METHOD_NAMES = {9: "Deflate64", 98: "PPMd", 99: "AES encryption", 93: "Zstandard",
                 95: "xz", 97: "WavPack", 6: "Implode"}


def _member_refusal(info: zipfile.ZipInfo, limits: ReadLimits) -> str | None:
    """Why a zip member is not unpacked (encrypted, unknown method, too large, a zip bomb,
    a zip inside the zip), read from its header alone; None when it may be."""
    if info.flag_bits & 0x1 or info.compress_type == 99:
        return f"{info.filename} is encrypted: unpack the archive with its password first"
    if info.compress_type not in _METHODS:
        what = _METHOD_NAMES.get(info.compress_type, "an unknown method")
        return (f"{info.filename} is packed with compression method {info.compress_type} "
                f"({what}), which cannot be read: repack it as a plain zip")
    if info.file_size > limits.max_member_bytes:
        return (f"{info.filename} unpacks to {info.file_size / 2**20:,.0f} MiB, more than the "
                f"{limits.max_member_bytes / 2**20:.0f} MiB a whole-body scan takes")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > 16 * 2**20 and ratio > limits.max_member_ratio:
        return (f"{info.filename} unpacks {ratio:,.0f} times its packed size (a zip bomb?): "
                f"not unpacked")
    if info.filename.lower().endswith(".zip"):
        return f"{info.filename} is a zip inside the zip: unpack it first"
    return None


def _member_count(path: Path) -> int | None:
    """Members recorded in the zip's end of central directory, read before the directory."""
    try:
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # the zip module's own reader of that record
    except (OSError, ValueError, struct.error):
        return None
    return None if not end else int(end[zipfile._ECD_ENTRIES_TOTAL])


def _expand_zip(path: Path, limits: ReadLimits = DEFAULT_LIMITS
                ) -> Iterator[Source | InputError]:
    count = _member_count(path)
    if count is not None and count > limits.max_members:
        yield InputError(f"is a zip archive of {count:,} members; at most "
                         f"{limits.max_members:,} are read", path=str(path))
        return
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError, struct.error) as exc:
        yield InputError(f"is not a readable zip archive ({_short(exc)})", path=str(path))
        return
    wanted = sorted((i for i in infos if "__MACOSX" not in i.filename
                     and (_wanted(i.filename) or i.filename.lower().endswith(".zip"))),
                    key=lambda i: i.filename)
    if not wanted:
        yield InputError("is a zip archive holding no DICOM files", path=str(path))
        return
    for info in wanted:
        refusal = _member_refusal(info, limits)
        if refusal:
            yield InputError(refusal, path=str(path))
        else:
            yield Source(str(path), info.filename)


def _expand_dicomdir(path: Path) -> Iterator[Source | InputError]:
    """The files a DICOMDIR lists (Referenced File ID of each directory record)."""
    try:
        ds = pydicom.dcmread(path)
        records = list(ds.get("DirectoryRecordSequence") or [])
    except Exception as exc:
        yield InputError(f"is a DICOMDIR that cannot be read ({_short(exc)})", path=str(path))
        return
    seen: set[str] = set()
    for rec in records:
        ids = rec.get("ReferencedFileID")
        if not ids:
            continue
        parts = [ids] if isinstance(ids, str) else [str(p) for p in ids]
        target = _find(path.parent, parts)
        if str(target) not in seen:
            seen.add(str(target))
            yield Source(str(target))
    if not seen:
        yield InputError("is a DICOMDIR that lists no files", path=str(path))


def _find(root: Path, parts: list[str]) -> Path:
    """Path of a Referenced File ID, matching case-insensitively (media are often lower-cased)."""
    here = root
    for part in parts:
        exact = here / part
        if exact.exists():
            here = exact
            continue
        try:
            match = next((p for p in here.iterdir() if p.name.upper() == part.upper()), None)
        except OSError:
            match = None
        here = match if match is not None else exact
    return here
