"""A seeded sample of the fuzz harness (benchmarks/fuzz.py) through the reader, in this
process: 520 hostile files, each read within 10 s, each giving Scans or one-line sentences
naming the file; a native decoder crash would end this test process."""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

from nm_files import nm_dataset, write
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from mibgscore.errors import InputError
from mibgscore.io import iter_scans, scan_summary
from mibgscore.io.types import Scan

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import fuzz  # noqa: E402

N = 520


def _bases(folder: Path) -> list[Path]:
    out = [write(nm_dataset(), folder / "native.dcm")]
    for name, ts in (("rle", RLELossless), ("jpegls", JPEGLSLossless),
                     ("j2k", JPEG2000Lossless)):
        ds = nm_dataset()
        ds.compress(ts)
        out.append(write(ds, folder / f"{name}.dcm"))
    return out


def test_fuzz_sample_never_crashes_and_every_refusal_is_one_sentence(tmp_path, caplog):
    bases = _bases(tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    outcomes: Counter = Counter()
    kinds: Counter = Counter()
    slowest = 0.0
    caplog.set_level(logging.WARNING)
    for i in range(N):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path, kind = fuzz.mutate(bases, 14, i, files)
            kinds[kind] += 1
            t0 = time.perf_counter()
            items = list(iter_scans([path]))
            for item in items:
                if isinstance(item, Scan):
                    scan_summary(item)
            took = time.perf_counter() - t0
        slowest = max(slowest, took)
        assert took < 10.0, f"{path.name}: {took:.1f} s"
        assert items, f"{path.name}: nothing yielded"
        errors = [x for x in items if not isinstance(x, Scan)]
        assert all(isinstance(x, InputError) for x in errors), (path.name, errors)
        assert len(errors) <= 1, (path.name, [str(e) for e in errors])
        for err in errors:
            text = str(err)
            assert text.startswith(path.name) and "\n" not in text and len(text) < 400, text
        outcomes["error" if errors else "scan"] += 1
        path.unlink()
    assert set(kinds) == set(fuzz.KINDS), kinds
    assert outcomes["scan"] > 50 and outcomes["error"] > 200, outcomes
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
