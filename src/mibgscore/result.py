"""The scoring result: what `mibgscore score --json` prints, as a typed object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mibgscore.anatomy.grades import Graded, Grades
from mibgscore.anatomy.scheme import SIOPEN_KEYS


@dataclass(frozen=True)
class ModelInfo:
    """What scored a study: the lesion detector, its version and the SHA-256 of what defines it
    (the weights file of a learned detector, the parameters of a hand-made one).

    Attributes
    ----------
    name : str
        Registry name of the detector (``learned``, ``classic``) or of an adapted model.
    version : str
        The detector's version (the software version for hand-made detectors).
    sha256 : str
        Hex SHA-256 of the weights file, or of the detector's parameters.
    """

    name: str
    version: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        """``{"name", "version", "sha256"}``, as in the score JSON's ``model`` object."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, str] | None) -> ModelInfo:
        """Inverse of :meth:`to_dict`; ``unknown`` for results saved before models were named."""
        data = data or {}
        return cls(str(data.get("name", "unknown")), str(data.get("version", "")),
                   str(data.get("sha256", "")))


UNKNOWN_MODEL = ModelInfo("unknown", "", "")
"""The model of a result that does not say (older saved results, hand-made test results)."""


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
class ScoreResult(Graded):
    """SIOPEN and Curie scores of one scan, with the evidence behind them.

    ``evidence`` holds the stages' intermediate outputs (skeleton, maps) for overlays and the
    viewer; it is not serialised. ``model`` names what scored the study; ``schemes`` the
    segment tables used (``{"siopen": name, "curie": name}``).
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
    model: ModelInfo = UNKNOWN_MODEL
    schemes: dict[str, str] = field(default_factory=lambda: {"siopen": "SIOPEN",
                                                              "curie": "Curie"})

    def __post_init__(self) -> None:
        self.siopen = Grades("siopen", self.siopen).to_dict()  # checked, in report order
        self.curie = Grades("curie", self.curie).to_dict()
        self.siopen_confidence = {k: float(self.siopen_confidence.get(k, 0.0))
                                  for k in SIOPEN_KEYS}


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
            "model": self.model.to_dict(),
            "schemes": dict(self.schemes),
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
            model=ModelInfo.from_dict(data.get("model")),
            schemes=dict(data.get("schemes") or {"siopen": "SIOPEN", "curie": "Curie"}),
        )
