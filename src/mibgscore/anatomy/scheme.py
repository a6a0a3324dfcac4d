"""Segment schemes as data: which bones, or fractions of long bones, make each segment.

A scheme's TOML table says everything about its segments: key and order (file order), English
and French names, the header names a readings spreadsheet may use, the SNOMED CT finding site
written in DICOM SR, and which bones make the segment; its header gives the highest grade and
the clinical cut-off of the total. Key lists, translations, the SR and the readings parser are
derived from it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.errors import SchemeError

BUNDLED = ("siopen", "curie")
"""Names of the bundled schemes (``anatomy/schemes/<name>.toml``)."""


@dataclass(frozen=True)
class BonePart:
    """A bone, or the part of a long bone between two positions (0 proximal, 1 distal)."""

    bone: str
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True)
class Code:
    """A coded concept as DICOM writes it.

    Attributes
    ----------
    value : str
        Code Value (0008,0100), e.g. ``"53120007"``.
    scheme : str
        Coding Scheme Designator (0008,0102), e.g. ``"SCT"`` (SNOMED CT).
    meaning : str
        Code Meaning (0008,0104), e.g. ``"Upper limb"``.
    """

    value: str
    scheme: str
    meaning: str


@dataclass(frozen=True)
class SegmentSite:
    """Where a segment lies, as a DICOM SR finding site (TID 1419 Finding Site).

    Attributes
    ----------
    location : Code
        Anatomic location, SNOMED CT (e.g. 53120007 Upper limb).
    laterality : Code or None
        Laterality (24028007 Right, 7771000 Left: the patient's side), where the location is
        paired.
    modifier : Code or None
        Topographical modifier (40415009 Proximal, 46053002 Distal), where the location alone
        is not the segment.
    """

    location: Code
    laterality: Code | None = None
    modifier: Code | None = None


@dataclass(frozen=True)
class Segment:
    """One scored segment.

    Attributes
    ----------
    key : str
        The project's key (``skull``, ``right_upper_limb_proximal``...; patient's right).
    name : str
        English name.
    parts : tuple of BonePart
        The bones, or parts of long bones, that make the segment (none for soft tissue).
    soft_tissue : bool
        Whether the segment is soft tissue rather than bone (Curie).
    name_fr : str
        French name; the English name where the table gives none.
    aliases : tuple of str
        Other names a readings spreadsheet may head the segment's column with (the key and
        both names are always accepted); matched ignoring case, accents and punctuation.
    site : SegmentSite or None
        SNOMED CT finding site written in DICOM SR; None where the table gives none.
    """

    key: str
    name: str
    parts: tuple[BonePart, ...]
    soft_tissue: bool = False
    name_fr: str = ""
    aliases: tuple[str, ...] = ()
    site: SegmentSite | None = None

    def __post_init__(self) -> None:
        if not self.name_fr:
            object.__setattr__(self, "name_fr", self.name)
        object.__setattr__(self, "aliases", tuple(self.aliases))

    def name_in(self, language: str) -> str:
        """The segment's name in ``language`` (``"fr"`` French, anything else English)."""
        return self.name_fr if language == "fr" else self.name

    @property
    def header_names(self) -> tuple[str, ...]:
        """Every name a readings file may use for this segment: key, names, aliases."""
        return tuple(dict.fromkeys((self.key, self.name, self.name_fr, *self.aliases)))


@dataclass(frozen=True)
class SegmentScheme:
    """A scoring scheme's segments, in report order.

    Segment index i (0-based) is label i + 1 in a segment map; 0 is "no segment".

    Attributes
    ----------
    name : str
        ``"SIOPEN"``, ``"Curie"`` or a centre's name for its table.
    reference : str
        The paper the table follows.
    max_grade : int
        Highest grade of a segment (6 SIOPEN, 3 Curie); grades run from 0.
    segments : tuple of Segment
        In report order (the table's order).
    category_cutoff : int or None
        Clinical cut-off of the total: a total at or below it is ``"<=cutoff"``, above it
        ``">cutoff"``; None where the table gives none.
    category_reference : str
        The paper the cut-off comes from.
    """

    name: str
    reference: str
    max_grade: int
    segments: tuple[Segment, ...]
    category_cutoff: int | None = None
    category_reference: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """Segment keys in report order."""
        return tuple(s.key for s in self.segments)

    @property
    def max_total(self) -> int:
        """Highest possible total: ``max_grade`` times the number of segments."""
        return self.max_grade * len(self.segments)

    def segment(self, key: str) -> Segment:
        """The segment with key ``key`` (KeyError if the scheme has none)."""
        for seg in self.segments:
            if seg.key == key:
                return seg
        raise KeyError(key)

    @property
    def skeletal_keys(self) -> tuple[str, ...]:
        """Keys of the segments made of bone (all but soft tissue)."""
        return tuple(s.key for s in self.segments if not s.soft_tissue)

    def segment_of(self, bone: str, position: float = 0.5) -> str | None:
        """Key of the segment holding ``bone`` at ``position`` (0 proximal - 1 distal)."""
        for seg in self.segments:
            for part in seg.parts:
                if part.bone == bone and _inside(position, part):
                    return seg.key
        return None

    def segment_map(self, bone_labels: np.ndarray, bone_position: np.ndarray | None = None
                    ) -> np.ndarray:
        """Segment label map from a bone map.

        Parameters
        ----------
        bone_labels : ndarray of shape (rows, cols), int
            0 background, ``BONE_LABEL[name]`` per bone.
        bone_position : ndarray of shape (rows, cols), float, optional
            Position along long bones, 0 proximal - 1 distal; 0.5 assumed where missing.

        Returns
        -------
        ndarray of shape (rows, cols), uint8
            0 outside bone, i + 1 for ``self.segments[i]``.
        """
        whole = np.zeros(len(BONES) + 1, dtype=np.uint8)  # label -> segment, unsplit bones
        split: dict[int, list[tuple[float, float, int]]] = {}
        for i, seg in enumerate(self.segments):
            for part in seg.parts:
                label = BONE_LABEL[part.bone]
                if part.start > 0.0 or part.end < 1.0:
                    split.setdefault(label, []).append((part.start, part.end, i + 1))
                else:
                    whole[label] = i + 1
        labels = np.clip(bone_labels, 0, len(BONES)).astype(np.intp, copy=False)
        out = whole[labels]
        if split:
            is_split = np.zeros(len(BONES) + 1, dtype=bool)
            is_split[list(split)] = True
            rows, cols = np.nonzero(is_split[labels])
            lab = labels[rows, cols]
            pos = (np.full(lab.shape, 0.5, np.float32) if bone_position is None
                   else np.nan_to_num(bone_position[rows, cols], nan=0.5))
            seg_of = np.zeros(lab.shape, dtype=np.uint8)
            for label, parts in split.items():
                here = lab == label
                for start, end, value in parts:
                    inside = here & (pos >= start) & ((pos < end) | (end >= 1.0))
                    seg_of[inside] = value
            out[rows, cols] = seg_of
        return out


def _inside(position: float, part: BonePart) -> bool:
    if part.end >= 1.0:
        return part.start <= position <= 1.0
    return part.start <= position < part.end


def load_scheme(source: str | Path) -> SegmentScheme:
    """Load and check a segment scheme.

    Parameters
    ----------
    source : str or Path
        ``"siopen"`` or ``"curie"`` for the bundled tables, or the path of a TOML file in the
        same format. In a centre's file only the keys and bones are required: names default
        to the key (French to English), aliases and sites to none, and ``max_grade`` and the
        category cut-off to those of the bundled scheme with the same keys (else grade 6 and
        no cut-off).

    Raises
    ------
    SchemeError
        A bone is unknown, assigned twice, or left out; a key repeats; a split is not in 0-1;
        a name, alias or finding site is malformed; two segments share a name.
    """
    if isinstance(source, str) and source.lower() in BUNDLED:
        return _bundled(source.lower())
    path = Path(source)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SchemeError(f"cannot read the segment table ({exc}).", path) from exc
    return _parse(data, path, bundled=False)


def check_scheme_keys(scheme: SegmentScheme, name: str, *, path: str | Path | None = None
                      ) -> SegmentScheme:
    """Check that a table defines exactly the contract's keys of one scheme.

    Parameters
    ----------
    scheme : SegmentScheme
        The table to check (a centre's own, or a bundled one).
    name : str
        ``"siopen"`` or ``"curie"``: whose keys (``SIOPEN_KEYS``, ``CURIE_KEYS``) it must define.
    path : str or Path, optional
        The file the table came from, named in the error.

    Returns
    -------
    SegmentScheme
        ``scheme`` itself.

    Raises
    ------
    SchemeError
        The table's keys are not the contract's keys of ``name`` (order may differ).
    """
    if name not in BUNDLED:
        raise ValueError(f"unknown scheme {name!r}; known: {', '.join(BUNDLED)}")
    keys = _bundled(name).keys
    if set(scheme.keys) != set(keys):
        raise SchemeError(f"the {name.upper()} segment table must define exactly the keys "
                          f"{', '.join(keys)}.", path)
    return scheme


def resolve_scheme(value: SegmentScheme | str | Path | None, name: str) -> SegmentScheme:
    """The table to score ``name`` with: ``value`` loaded if need be, its keys checked.

    Parameters
    ----------
    value : SegmentScheme, str or Path, optional
        A loaded table, ``"siopen"``/``"curie"``, or a TOML path; the bundled ``name`` table
        when None.
    name : str
        ``"siopen"`` or ``"curie"``.

    Raises
    ------
    SchemeError
        The table cannot be read, is inconsistent, or does not define ``name``'s keys.
    """
    scheme = value if isinstance(value, SegmentScheme) else load_scheme(
        name if value is None else value)
    where = value if isinstance(value, Path) or (
        isinstance(value, str) and value.lower() not in BUNDLED) else None
    return check_scheme_keys(scheme, name, path=where)


def load_schemes(files: Iterable[str | Path]
                 ) -> tuple[SegmentScheme | None, SegmentScheme | None]:
    """Sort a centre's segment tables (``--segments``) into the SIOPEN and the Curie table.

    Parameters
    ----------
    files : iterable of str or Path
        TOML segment tables, at most one with the SIOPEN keys and one with the Curie keys.

    Returns
    -------
    tuple of (SegmentScheme or None, SegmentScheme or None)
        ``(siopen, curie)``; None where no file has that scheme's keys (the bundled table is
        meant).

    Raises
    ------
    SchemeError
        A table cannot be read or is inconsistent, has neither the SIOPEN nor the Curie keys,
        or a second table is given for one scheme.
    """
    found: dict[str, SegmentScheme] = {}
    for f in files:
        table = load_scheme(Path(f))
        name = next((n for n in BUNDLED if set(table.keys) == set(_bundled(n).keys)), None)
        if name is None:
            raise SchemeError("the table's segment keys are neither the SIOPEN keys nor the "
                              "Curie keys; see `mibgscore segments siopen`.", f)
        if name in found:
            raise SchemeError(f"this is a second {name.upper()} table; give one table per "
                              "scheme.", f)
        found[name] = table
    return found.get("siopen"), found.get("curie")


@cache
def _bundled(name: str) -> SegmentScheme:
    text = resources.files("mibgscore.anatomy.schemes").joinpath(f"{name}.toml").read_text("utf-8")
    return _parse(tomllib.loads(text), Path(f"{name}.toml"), bundled=True)


def _parse(data: dict, path: Path, *, bundled: bool) -> SegmentScheme:
    head = data.get("scheme", {})
    segments: list[Segment] = []
    coverage: dict[str, list[tuple[float, float]]] = {}
    for item in data.get("segment", []):
        key = item.get("key")
        if not key:
            raise SchemeError("a [[segment]] has no key.", path)
        parts = []
        for entry in item.get("bones", []):
            part = (BonePart(entry) if isinstance(entry, str)
                    else BonePart(entry["bone"], float(entry.get("from", 0.0)),
                                  float(entry.get("to", 1.0))))
            if part.bone not in BONE_LABEL:
                raise SchemeError(f"segment {key} names unknown bone {part.bone!r}; known bones: "
                                  f"{', '.join(BONES)}.", path)
            if not 0.0 <= part.start < part.end <= 1.0:
                raise SchemeError(f"segment {key}: {part.bone} split {part.start}-{part.end} "
                                  "is not within 0-1.", path)
            if (part.start, part.end) != (0.0, 1.0) and part.bone not in LONG_BONES:
                raise SchemeError(f"segment {key}: only long bones can be split, "
                                  f"not {part.bone}.", path)
            coverage.setdefault(part.bone, []).append((part.start, part.end))
            parts.append(part)
        name = _text(item, "name", key, key, path)
        segments.append(Segment(
            key, name, tuple(parts), bool(item.get("soft_tissue", False)),
            name_fr=_text(item, "name_fr", name, key, path),
            aliases=_aliases(item, key, path),
            site=None if "site" not in item else _site(item["site"], key, path)))
    keys = [s.key for s in segments]
    if len(set(keys)) != len(keys):
        raise SchemeError("a segment key is used twice.", path)
    _check_names(segments, path)
    for bone in BONES:
        spans = sorted(coverage.get(bone, []))
        if not spans:
            raise SchemeError(f"bone {bone} belongs to no segment.", path)
        edge = 0.0
        for start, end in spans:
            if abs(start - edge) > 1e-9:
                raise SchemeError(f"bone {bone} is assigned twice or has a gap at {edge}.", path)
            edge = end
        if abs(edge - 1.0) > 1e-9:
            raise SchemeError(f"bone {bone} is covered only up to {edge}.", path)
    like = None if bundled else next(
        (b for b in map(_bundled, BUNDLED) if set(b.keys) == set(keys)), None)
    max_grade = _integer(head, "max_grade", like.max_grade if like else 6, path)
    if max_grade < 1:
        raise SchemeError(f"max_grade is {max_grade}; grades must run from 0 to at least 1.",
                          path)
    cutoff = head.get("category_cutoff", like.category_cutoff if like else None)
    if cutoff is not None:
        cutoff = _integer(head, "category_cutoff", cutoff, path)
    return SegmentScheme(
        name=str(head.get("name", path.stem)),
        reference=str(head.get("reference", "")),
        max_grade=max_grade,
        segments=tuple(segments),
        category_cutoff=cutoff,
        category_reference=str(head.get("category_reference",
                                        like.category_reference if like else "")),
    )


def _text(item: dict, field: str, default: str, key: str, path: Path) -> str:
    value = item.get(field, default)
    if not isinstance(value, str) or not value.strip():
        raise SchemeError(f"segment {key}: {field} must be a non-empty string.", path)
    return value


def _integer(head: dict, field: str, default: int, path: Path) -> int:
    value = head.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemeError(f"[scheme] {field} must be a whole number, not {value!r}.", path)
    return value


def _aliases(item: dict, key: str, path: Path) -> tuple[str, ...]:
    value = item.get("aliases", [])
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        raise SchemeError(f"segment {key}: aliases must be a list of names.", path)
    return tuple(value)


def _code(table: Any, what: str, key: str, path: Path) -> Code:
    if not isinstance(table, dict) or not all(
            isinstance(table.get(f), str) and table[f] for f in ("code", "meaning")):
        raise SchemeError(f"segment {key}: the {what} needs a code and a meaning "
                          '(e.g. { code = "24028007", scheme = "SCT", meaning = "Right" }).',
                          path)
    return Code(table["code"], str(table.get("scheme", "SCT")), table["meaning"])


def _site(table: Any, key: str, path: Path) -> SegmentSite:
    location = _code(table, "finding site", key, path)
    laterality = table.get("laterality")
    modifier = table.get("modifier")
    return SegmentSite(
        location,
        None if laterality is None else _code(laterality, "site's laterality", key, path),
        None if modifier is None else _code(modifier, "site's modifier", key, path))


def _check_names(segments: list[Segment], path: Path) -> None:
    """Two segments of one scheme may not share a name or an alias (ignoring case)."""
    owner: dict[str, str] = {}
    for seg in segments:
        for name in seg.header_names:
            other = owner.setdefault(name.casefold(), seg.key)
            if other != seg.key:
                raise SchemeError(f"segments {other} and {seg.key} are both called {name!r}.",
                                  path)


SIOPEN_KEYS: tuple[str, ...] = _bundled("siopen").keys
"""The JSON/CSV contract's SIOPEN keys (patient's right), in report order (from siopen.toml)."""

CURIE_KEYS: tuple[str, ...] = _bundled("curie").keys
"""The JSON/CSV contract's Curie keys, in report order (from curie.toml)."""
