"""The scoring result: what `mibgscore score --json` prints, as a typed object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS


@dataclass(frozen=True)
class Lesion:
    """One abnormal skeletal uptake, in the anterior frame's pixel grid (row, col)."""

    segment: str
    kind: str
    row: int
    col: int
    fraction: float | None
    confidence: float

    def __post_init__(self) -> None:
        if self.kind not in ("focal", "diffuse"):
            raise ValueError(f"lesion kind {self.kind!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"lesion confidence {self.confidence}")
        if self.fraction is not None and not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"lesion fraction {self.fraction}")


@dataclass(frozen=True)
class Finding:
    """Normal or soft-tissue uptake that is not scored as bone (liver, bladder, tumour...)."""

    label: str
    row: int
    col: int


@dataclass(eq=False)
class ScoreResult:
    """SIOPEN and Curie scores of one scan, with the evidence behind them.

    ``evidence`` holds the stages' intermediate outputs (skeleton, maps) for overlays and the
    viewer; it is not serialised.
    """

    file: str
    study_uid: str | None
    siopen: dict[str, int]
    siopen_confidence: dict[str, float]
    curie: dict[str, int]
    lesions: list[Lesion] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    evidence: Any = None

    def __post_init__(self) -> None:
        if tuple(self.siopen) != SIOPEN_KEYS:
            self.siopen = {k: int(self.siopen[k]) for k in SIOPEN_KEYS}
        if tuple(self.curie) != CURIE_KEYS:
            self.curie = {k: int(self.curie[k]) for k in CURIE_KEYS}
        for k, g in self.siopen.items():
            if not 0 <= g <= 6:
                raise ValueError(f"SIOPEN grade {g} for {k}")
        for k, g in self.curie.items():
            if not 0 <= g <= 3:
                raise ValueError(f"Curie grade {g} for {k}")
        self.siopen_confidence = {k: float(self.siopen_confidence.get(k, 0.0))
                                  for k in SIOPEN_KEYS}

    @property
    def siopen_total(self) -> int:
        """SIOPEN total, 0-72."""
        return sum(self.siopen.values())

    @property
    def curie_total(self) -> int:
        """Curie total, 0-30."""
        return sum(self.curie.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON Lines object of `mibgscore score --json`."""
        return {
            "file": self.file,
            "study_uid": self.study_uid,
            "siopen": {
                "segments": dict(self.siopen),
                "total": self.siopen_total,
                "confidence": {k: round(v, 4) for k, v in self.siopen_confidence.items()},
            },
            "curie": {"segments": dict(self.curie), "total": self.curie_total},
            "lesions": [
                {"segment": x.segment, "kind": x.kind, "row": int(x.row), "col": int(x.col),
                 "fraction": None if x.fraction is None else round(float(x.fraction), 4),
                 "confidence": round(float(x.confidence), 4)}
                for x in self.lesions
            ],
            "findings": [{"label": f.label, "row": int(f.row), "col": int(f.col)}
                         for f in self.findings],
            "warnings": list(self.warnings),
            "seconds": round(float(self.seconds), 4),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreResult:
        """Inverse of :meth:`to_dict` (evidence is lost)."""
        return cls(
            file=data["file"],
            study_uid=data.get("study_uid"),
            siopen=dict(data["siopen"]["segments"]),
            siopen_confidence=dict(data["siopen"].get("confidence", {})),
            curie=dict(data["curie"]["segments"]),
            lesions=[Lesion(**x) for x in data.get("lesions", [])],
            findings=[Finding(**x) for x in data.get("findings", [])],
            warnings=list(data.get("warnings", [])),
            seconds=float(data.get("seconds", 0.0)),
        )
