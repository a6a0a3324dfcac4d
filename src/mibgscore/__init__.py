"""mibgscore: automatic SIOPEN and Curie skeletal scores of 123I-MIBG whole-body scintigraphy."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str):  # lazy re-exports keep `import mibgscore` light
    if name in ("read_scan", "read_scans"):
        from mibgscore.io import read as _read

        return getattr(_read, name)
    if name == "Scan":
        from mibgscore.io.types import Scan

        return Scan
    if name == "score":
        from mibgscore.pipeline import score

        return score
    if name == "ScoreResult":
        from mibgscore.result import ScoreResult

        return ScoreResult
    raise AttributeError(name)


__all__ = ["Scan", "ScoreResult", "__version__", "read_scan", "read_scans", "score"]
