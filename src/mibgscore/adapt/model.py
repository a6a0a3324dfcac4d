"""A model folder: what ``mibgscore adapt`` writes and ``--model`` reads.

Layout: ``calibration.json`` (the fitted limits), ``siopen.toml`` (the segment table with the
fitted limb split), ``network/`` (the base network's weights, when not the shipped ones),
``metrics.json``, ``report.html`` and ``manifest.json`` (software version, base model, segment
table, hashed study UIDs, readings hash, seed, date, and the SHA-256 of every file, checked on
reading: a changed file is refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mibgscore import __version__
from mibgscore.anatomy.scheme import SegmentScheme, load_scheme
from mibgscore.errors import MibgscoreError, ModelError
from mibgscore.grading.calibration import Calibration
from mibgscore.pipeline import ScoreParams
from mibgscore.result import ModelInfo

FORMAT = 1
"""Version of the folder layout."""

MANIFEST = "manifest.json"
CALIBRATION = "calibration.json"
SCHEME = "siopen.toml"
NETWORK = "network"


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hashed_uid(uid: str | None) -> str:
    """A study's identity in a manifest: SHA-256 of its Study Instance UID."""
    return hashlib.sha256((uid or "").encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class ScoringModel:
    """What scores a study: the detector's parameters, the calibration and the segment table.

    Attributes
    ----------
    name : str
        ``shipped`` or the adapted model's name.
    params : ScoreParams
        For :func:`mibgscore.pipeline.score` (``lesion_method``, ``lesion_params``,
        ``calibration``).
    siopen_scheme : SegmentScheme or None
        The fitted segment table (None: the bundled one).
    folder : Path or None
        The model folder (None: the shipped model).
    manifest : dict
        Its manifest (empty for the shipped model).
    """

    name: str
    params: ScoreParams
    siopen_scheme: SegmentScheme | None = None
    folder: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> dict[str, Any]:
        """``name``, ``folder`` and the model recorded in its results (when adapted)."""
        return {"name": self.name, "folder": None if self.folder is None else str(self.folder),
                "model": self.manifest.get("model")}


SHIPPED = ScoringModel("shipped", ScoreParams())
"""The shipped model: learned detector (``auto``), bundled rules and tables."""


def base_params(base: str | Path | None) -> tuple[ScoreParams, Path | None]:
    """Detector parameters of an adaptation's ``--base``: the shipped network, a folder of
    other weights (``lesion_net.onnx``...), or the network of an adapted model folder; and the
    weights folder to copy into the new model (None: shipped).

    Raises
    ------
    ModelError
        The folder holds neither.
    """
    from mibgscore.lesions.learned import MODEL_FILE, LearnedParams

    if base is None:
        return ScoreParams(lesion_method="learned"), None
    folder = Path(base)
    if (folder / MANIFEST).is_file():
        model = load_model(folder)
        net = folder / NETWORK
        return (ScoreParams(lesion_method="learned", lesion_params=model.params.lesion_params),
                net if net.is_dir() else None)
    if (folder / MODEL_FILE).is_file():
        return (ScoreParams(lesion_method="learned",
                            lesion_params=LearnedParams(folder=str(folder))), folder)
    raise ModelError(f"neither an adapted model ({MANIFEST}) nor network weights "
                     f"({MODEL_FILE}) are in this folder.", folder)


def load_model(folder: str | Path | None) -> ScoringModel:
    """The model in ``folder`` (None: the shipped one), its files checked against its manifest.

    Raises
    ------
    ModelError
        Not a model folder, written by another software version or layout, a file missing
        or changed since it was written (hash mismatch).
    """
    if folder is None:
        return SHIPPED
    from mibgscore.lesions.learned import LearnedParams

    path = Path(folder)
    if not path.is_dir():
        raise ModelError("this model folder does not exist.", path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"not a model folder of `mibgscore adapt` (no {MANIFEST}).",
                         path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{MANIFEST} cannot be read ({exc}).", path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"this model folder has layout {manifest.get('format')!r}; this "
                         f"program reads layout {FORMAT}.", path)
    version = manifest.get("software_version")
    if version != __version__:
        raise ModelError(f"this model was written by mibgscore {version}; this is mibgscore "
                         f"{__version__}: adapt it again with this version.", path)
    for name, digest in sorted(manifest.get("files", {}).items()):
        target = path / name
        if not target.is_file():
            raise ModelError(f"{name} is missing from the model folder.", path)
        if sha256_file(target) != digest:
            raise ModelError(f"{name} was changed after the model was written (hash "
                             "mismatch): the model is refused.", path)
    try:
        calibration = Calibration.from_dict(json.loads(
            (path / CALIBRATION).read_text(encoding="utf-8")))
        scheme = load_scheme(path / SCHEME)
    except (ValueError, MibgscoreError) as exc:
        raise ModelError(f"the model's files are inconsistent ({exc}).", path) from None
    lesion_params = (LearnedParams(folder=str(path / NETWORK)) if (path / NETWORK).is_dir()
                     else None)
    params = ScoreParams(lesion_method="learned", lesion_params=lesion_params,
                         calibration=calibration)
    return ScoringModel(calibration.name, params, scheme, path, manifest)


def write_model(folder: str | Path, writers: dict[str, Callable[[Path], None]],
                manifest: dict[str, Any], network: Path | None = None) -> Path:
    """Write a model folder atomically: everything into a temporary folder beside it, the
    manifest (with every file's SHA-256) last, then one rename. An existing model folder is
    replaced only once the new one is complete; nothing half-written is ever left at
    ``folder``.

    Parameters
    ----------
    writers : dict of str to callable
        File name -> ``writer(path)`` writing that file.
    network : Path, optional
        A weights folder copied to ``network/``.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ModelError("this is a file, not a folder; give a new or empty folder.", target)
    if target.exists() and not (target / MANIFEST).is_file() and any(target.iterdir()):
        raise ModelError("this folder exists and is not a model folder; give a new or "
                         "empty folder.", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, write in writers.items():
            write(tmp / name)
        if network is not None:
            (tmp / NETWORK).mkdir()
            for f in sorted(Path(network).iterdir()):
                if f.is_file() and f.suffix in (".onnx", ".json"):
                    shutil.copy2(f, tmp / NETWORK / f.name)
        files = {p.relative_to(tmp).as_posix(): sha256_file(p)
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {**manifest, "format": FORMAT, "software_version": __version__,
                    "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def model_record(model: ModelInfo) -> dict[str, str]:
    """The ``model`` object recorded for results of ``model``."""
    return model.to_dict()
