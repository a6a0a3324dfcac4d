"""Damaged files (cut short, bytes overwritten) give one InputError each, never a crash."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nm_files import nm_dataset, write, write_nm
from pydicom.uid import RLELossless

from mibgscore.errors import InputError
from mibgscore.io import iter_scans
from mibgscore.io.types import Scan


@pytest.mark.parametrize("compressed", [False, True])
def test_cut_and_overwritten_files_never_crash(tmp_path, compressed):
    if compressed:
        ds = nm_dataset()
        ds.compress(RLELossless)
        data = write(ds, tmp_path / "src.dcm").read_bytes()
    else:
        data = write_nm(tmp_path / "src.dcm").read_bytes()
    rng = np.random.default_rng(7)
    outcomes = {"scan": 0, "error": 0}
    for i in range(60):
        b = bytearray(data)
        if i % 3 == 0:
            b = b[: int(rng.integers(0, len(b)))]
        else:
            for _ in range(int(rng.integers(1, 20))):
                b[int(rng.integers(128, len(b)))] = int(rng.integers(0, 256))
        path = tmp_path / f"d{i}.dcm"
        path.write_bytes(bytes(b))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            items = list(iter_scans([path]))
        assert items, f"case {i}: nothing yielded"
        for item in items:
            assert isinstance(item, (Scan, InputError)), f"case {i}: {item!r}"
            if isinstance(item, InputError):
                outcomes["error"] += 1
                assert item.path and str(item).startswith(f"d{i}.dcm: "), str(item)
                assert "\n" not in str(item)
            else:
                outcomes["scan"] += 1
    assert outcomes["scan"] > 0 and outcomes["error"] > 0, outcomes
