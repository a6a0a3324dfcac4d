"""Segment schemes as data: which bones, or fractions of long bones, make each segment."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.errors import SchemeError


@dataclass(frozen=True)
class BonePart:
    """A bone, or the part of a long bone between two positions (0 proximal, 1 distal)."""

    bone: str
    start: float = 0.0
    end: float = 1.0


@dataclass(frozen=True)
class Segment:
    """One scored segment."""

    key: str
    name: str
    parts: tuple[BonePart, ...]
    soft_tissue: bool = False


@dataclass(frozen=True)
class SegmentScheme:
    """A scoring scheme's segments, in report order.

    Segment index i (0-based) is label i + 1 in a segment map; 0 is "no segment".
    """

    name: str
    reference: str
    max_grade: int
    segments: tuple[Segment, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Segment keys in report order."""
        return tuple(s.key for s in self.segments)

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
        same format.

    Raises
    ------
    SchemeError
        A bone is unknown, assigned twice, or left out; a key repeats; a split is not in 0-1.
    """
    if isinstance(source, str) and source.lower() in ("siopen", "curie"):
        return _bundled(source.lower())
    path = Path(source)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SchemeError(f"cannot read the segment table ({exc}).", path) from exc
    return _parse(data, path)


@cache
def _bundled(name: str) -> SegmentScheme:
    text = resources.files("mibgscore.anatomy.schemes").joinpath(f"{name}.toml").read_text("utf-8")
    return _parse(tomllib.loads(text), Path(f"{name}.toml"))


def _parse(data: dict, path: Path) -> SegmentScheme:
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
        segments.append(Segment(key, item.get("name", key), tuple(parts),
                                bool(item.get("soft_tissue", False))))
    keys = [s.key for s in segments]
    if len(set(keys)) != len(keys):
        raise SchemeError("a segment key is used twice.", path)
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
    return SegmentScheme(
        name=str(head.get("name", path.stem)),
        reference=str(head.get("reference", "")),
        max_grade=int(head.get("max_grade", 6)),
        segments=tuple(segments),
    )


SIOPEN_KEYS: tuple[str, ...] = (
    "skull", "thoracic_cage", "spine", "pelvis",
    "right_upper_limb_proximal", "right_upper_limb_distal",
    "left_upper_limb_proximal", "left_upper_limb_distal",
    "right_lower_limb_proximal", "right_lower_limb_distal",
    "left_lower_limb_proximal", "left_lower_limb_distal",
)
"""The JSON/CSV contract's SIOPEN keys (patient's right), in report order."""

CURIE_KEYS: tuple[str, ...] = (
    "head", "cervical_thoracic_spine", "ribs_sternum", "lumbar_sacral_spine", "pelvis",
    "upper_arms", "forearms_hands", "thighs", "legs_feet", "soft_tissue",
)
"""The JSON/CSV contract's Curie keys, in report order."""
