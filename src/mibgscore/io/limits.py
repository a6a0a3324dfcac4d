"""What the reader accepts before it decodes a pixel or allocates an array: header limits,
zip-member limits and plausible pixel spacing, each refusal one sentence naming the file.

Whole-body NM scans are small (two frames of 256 x 1024 16-bit counts, 1 MiB); the limits
below leave room for every camera we know of and refuse what would only exhaust memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from mibgscore.errors import InputError

__all__ = ["DEFAULT_LIMITS", "ReadLimits", "check_body", "check_field", "check_header"]


@dataclass(frozen=True)
class ReadLimits:
    """Limits of the reader.

    Attributes
    ----------
    max_rows, max_cols : int
        Largest Rows (0028,0010) and Columns (0028,0011).
    max_frames : int
        Largest Number of Frames (0028,0008).
    max_pixels : int
        Most pixels of one file, all frames together (decoded size = pixels x bytes each).
    bits_allocated : tuple of int
        Accepted Bits Allocated (0028,0100).
    max_member_bytes : int
        Largest DICOM file, or member of a .zip archive (unpacked).
    max_member_ratio : float
        Highest unpacked / packed size of a zip member above 16 MiB (a zip bomb's signature).
    max_members : int
        Most members of one .zip archive.
    field_rows_mm, field_cols_mm : tuple of float
        Plausible length and width of the image (Rows x row spacing, Columns x column
        spacing), in mm: wide bounds (0.25-6 m by 0.1-2.5 m), since cameras and the
        simulator scan a small child in a large field.
    body_height_factor : float
        When the body's length in the image (rows of body x row spacing) and Patient's Size
        (0010,1020) differ by more than this factor, a warning (the height, typed by hand,
        is as likely to be wrong as the spacing).
    decode_seconds : float
        Longest time one file's compressed pixel data may take to decode (in the worker).
    decode_memory_bytes : int
        Address space of the decoding worker process (RLIMIT_AS).
    """

    max_rows: int = 4096
    max_cols: int = 4096
    max_frames: int = 64
    max_pixels: int = 32 * 2**20
    bits_allocated: tuple[int, ...] = (8, 16, 32)
    max_member_bytes: int = 256 * 2**20
    max_member_ratio: float = 1000.0
    max_members: int = 20000
    field_rows_mm: tuple[float, float] = (250.0, 6000.0)
    field_cols_mm: tuple[float, float] = (100.0, 2500.0)
    body_height_factor: float = 1.5
    decode_seconds: float = 8.0
    decode_memory_bytes: int = 2 * 2**30


DEFAULT_LIMITS = ReadLimits()


def _int(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    value = ds.get(keyword)
    if value is None or value == "":
        return default
    if not isinstance(value, (int, float, str, bytes)):  # a multi-valued element: its first
        value = next(iter(value), default)
    try:
        return int(value) if isinstance(value, int) else int(float(value))
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"has an unreadable {keyword} ({str(value)[:40]!r})") from None


def check_header(ds: Dataset, label: str, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """Refuse, before any pixel is decoded, a header whose image would be absurdly large.

    Rows, Columns, Number of Frames, Bits Allocated and Samples per Pixel are checked against
    ``limits``; for uncompressed pixel data the declared size is also checked against the
    bytes present (done where the pixel data is read).

    Raises
    ------
    InputError
        One sentence naming the attribute, its value and the limit.
    """
    try:
        rows = _int(ds, "Rows", 0)
        cols = _int(ds, "Columns", 0)
        frames = _int(ds, "NumberOfFrames", 1) or 1
        bits = _int(ds, "BitsAllocated", 16)
        samples = _int(ds, "SamplesPerPixel", 1) or 1
    except InputError as exc:
        raise InputError(exc.reason, path=label) from None
    assert rows is not None and cols is not None and bits is not None
    if rows <= 0 or cols <= 0:
        raise InputError(f"has an image of {cols} x {rows} pixels (Columns x Rows): no image",
                         path=label)
    if rows > limits.max_rows or cols > limits.max_cols:
        raise InputError(f"declares an image of {cols} x {rows} pixels (Columns x Rows); a "
                         f"whole-body scan has at most {limits.max_cols} x {limits.max_rows}",
                         path=label)
    if frames < 1 or frames > limits.max_frames:
        raise InputError(f"declares {frames:,} frames (Number of Frames); a whole-body scan "
                         f"has 1 to {limits.max_frames}", path=label)
    if bits not in limits.bits_allocated:
        raise InputError(f"declares {bits} bits per pixel (Bits Allocated); only "
                         f"{', '.join(map(str, limits.bits_allocated))} are read", path=label)
    if samples != 1:
        return  # a colour image: refused later with its own sentence
    pixels = rows * cols * frames
    if pixels > limits.max_pixels:
        raise InputError(f"declares {frames} frames of {cols} x {rows} pixels "
                         f"({pixels * bits // 8 / 2**20:,.0f} MiB decoded), over the "
                         f"{limits.max_pixels * 2 / 2**20:,.0f} MiB a whole-body scan may "
                         f"take", path=label)


def decoded_bytes(ds: Dataset) -> int:
    """Bytes of the decoded pixel data the header declares (all frames)."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    bits = int(ds.get("BitsAllocated", 16) or 16)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    return rows * cols * frames * samples * bits // 8


def check_field(shape: tuple[int, int], spacing_mm: tuple[float, float], label: str,
                source: str, limits: ReadLimits = DEFAULT_LIMITS) -> None:
    """Refuse a pixel spacing that makes the image implausibly small or large for a body.

    Parameters
    ----------
    shape : tuple of int
        (rows, cols) of a view.
    spacing_mm : tuple of float
        (row, col) spacing, in mm, as read from the file.
    label : str
        The file, for the sentence.
    source : str
        The attribute the spacing came from (``"Pixel Spacing"``...).

    Raises
    ------
    InputError
        The image would be shorter or longer than ``limits.field_rows_mm`` (or narrower or
        wider than ``limits.field_cols_mm``).
    """
    length = shape[0] * spacing_mm[0]
    width = shape[1] * spacing_mm[1]
    lo, hi = limits.field_rows_mm
    wlo, whi = limits.field_cols_mm
    if lo <= length <= hi and wlo <= width <= whi:
        return
    raise InputError(f"{source} {spacing_mm[0]:.3g} x {spacing_mm[1]:.3g} mm makes the image "
                     f"{_metres(length)} long and {_metres(width)} wide; a whole-body scan is "
                     f"{lo / 1000:g}-{hi / 1000:g} m long and {wlo / 1000:g}-{whi / 1000:g} m "
                     f"wide: check {source} {_TAGS.get(source, '')}".rstrip(), path=label)


_TAGS = {"Pixel Spacing": "(0028,0030)", "Imager Pixel Spacing": "(0018,1164)",
         "Nominal Scanned Pixel Spacing": "(0018,2010)"}


def _metres(mm: float) -> str:
    if mm >= 1e5 or mm < 1e-3:
        return f"{mm / 1000:.2g} m"
    if mm >= 1000:
        return f"{mm / 1000:.2f} m"
    if mm >= 10:
        return f"{mm / 10:.0f} cm"
    return f"{mm:.3g} mm"


def check_body(body_mm: float, height_cm: float | None, spacing_mm: float, source: str,
               limits: ReadLimits = DEFAULT_LIMITS) -> str | None:
    """Compare the body's length in the image with the patient's height.

    Parameters
    ----------
    body_mm : float
        Rows of body (head to soles) x row spacing, in mm.
    height_cm : float or None
        Patient's Size (0010,1020), in cm; nothing is checked without a plausible one
        (45-220 cm).

    Returns
    -------
    str or None
        A warning sentence when they differ by more than ``limits.body_height_factor``.
    """
    if height_cm is None or not 45.0 <= height_cm <= 220.0 or body_mm <= 0:
        return None
    factor = max(body_mm / (10 * height_cm), 10 * height_cm / body_mm)
    if factor <= limits.body_height_factor:
        return None
    return (f"{source} {spacing_mm:.3g} mm makes the body {_metres(body_mm)} long, but "
            f"Patient's Size (0010,1020) says {height_cm:g} cm: check both, sizes in mm may "
            f"be wrong")
