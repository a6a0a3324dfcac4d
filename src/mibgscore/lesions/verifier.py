"""The focus verifier: a logistic model that weighs each candidate focus's evidence.

Fitted by ``training/focus_verifier.py`` on the repository's phantoms (the shipped one on all of
them; leave-one-phantom-out ones for the benchmarks). A rejected candidate is not dropped
silently: it is reported as a finding with the reason that weighed most against it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from mibgscore.lesions._evidence import FEATURES, FINDING_GROUPS

VERIFIER_FILE = "focus_verifier.json"


@dataclass(frozen=True)
class FocusVerifier:
    """Standardised logistic regression on the evidence vector (``_evidence.FEATURES``).

    Attributes
    ----------
    mean, scale, coef : tuple of float
        Per feature: centring, scaling and weight.
    intercept : float
    threshold : float
        Candidates with a probability of bone at least this are kept.
    sha256 : str
        Hex SHA-256 of the file the verifier was read from.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    sha256: str

    @classmethod
    def from_json(cls, text: str) -> FocusVerifier:
        """Read a verifier written by ``training/focus_verifier.py``.

        Raises
        ------
        ValueError
            The file names other features than this version computes.
        """
        data = json.loads(text)
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the focus verifier was fitted on other features than "
                             f"{', '.join(FEATURES)}")
        return cls(tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]),
                   float(data["intercept"]), float(data["threshold"]),
                   hashlib.sha256(text.encode()).hexdigest())

    @classmethod
    def load(cls, path: str | Path) -> FocusVerifier:
        """Read a verifier from a JSON file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def terms(self, x: np.ndarray) -> np.ndarray:
        """Each feature's contribution to the log-odds of bone."""
        return (np.asarray(x) - np.array(self.mean)) / np.array(self.scale) * np.array(self.coef)

    def probability(self, x: np.ndarray) -> float:
        """Probability (0-1) that a candidate with evidence ``x`` is a bone focus."""
        z = float(self.terms(x).sum()) + self.intercept
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def reason(self, x: np.ndarray) -> str:
        """What weighed most against a rejected candidate, as a finding label: the
        normal-uptake finding it lies in or near, else ``not_bone``."""
        for group, labels in FINDING_GROUPS.items():
            if group == "tumour":  # a hot spot in a soft-tissue mass is the mass's
                continue
            inside = x[FEATURES.index(f"in_{group}")] > 0.5
            near = x[FEATURES.index(f"near_{group}")] > 0.5
            if inside or near:
                return labels[0]
        return "not_bone"


@lru_cache(maxsize=1)
def shipped_verifier() -> FocusVerifier | None:
    """The verifier shipped with the package, or None when there is none."""
    ref = resources.files("mibgscore.lesions").joinpath("models", VERIFIER_FILE)
    if not ref.is_file():
        return None
    return FocusVerifier.from_json(ref.read_text("utf-8"))
