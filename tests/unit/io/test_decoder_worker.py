"""Compressed pixel data is decoded in a worker process: a decoder that aborts, runs out of
memory or hangs ends the worker, never the reader, and the next file gets a fresh worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
import pytest
from nm_files import nm_dataset, write
from pydicom.uid import JPEG2000Lossless, RLELossless

from mibgscore.errors import DecoderCrashError
from mibgscore.io import read_scan
from mibgscore.io._decoder import decode_in_worker, worker_pid
from mibgscore.io.limits import DEFAULT_LIMITS


@pytest.fixture
def rle(tmp_path) -> Path:
    ds = nm_dataset()
    ds.compress(RLELossless)
    return write(ds, tmp_path / "rle.dcm")


def _decode(path: Path, limits=DEFAULT_LIMITS) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return decode_in_worker(ds, str(ds.file_meta.TransferSyntaxUID), "RLE Lossless",
                            path.name, limits)


def test_compressed_pixels_decode_in_a_worker_and_match(rle):
    expected = nm_dataset().pixel_array
    assert np.array_equal(read_scan(rle).anterior, expected[0].astype(np.float32))
    pid = worker_pid()
    assert pid is not None and pid != os.getpid()


def test_a_worker_killed_by_an_abort_is_replaced(rle):
    import threading

    _decode(rle)
    first = worker_pid()
    os.kill(first, signal.SIGSTOP)  # held while the request arrives, then aborted in it
    out: list[BaseException] = []

    def decode() -> None:
        try:
            _decode(rle)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            out.append(exc)

    t = threading.Thread(target=decode)
    t.start()
    time.sleep(0.3)
    os.kill(first, signal.SIGABRT)  # what gdcm does on damaged JPEG 2000
    os.kill(first, signal.SIGCONT)
    t.join(10)
    assert out and isinstance(out[0], DecoderCrashError), out
    assert str(out[0]) == ("rle.dcm: its RLE Lossless pixel data crashed the decoder "
                           "(signal SIGABRT): the file is damaged and was set aside")
    assert _decode(rle).shape == (2, 128, 48)  # the next file: a fresh worker
    assert worker_pid() not in (None, first)


def test_memory_and_time_limits_end_the_worker_not_the_reader(tmp_path, rle):
    ds = nm_dataset(rows=1024, cols=256)
    ds.compress(RLELossless)
    big = write(ds, tmp_path / "big.dcm")
    with pytest.raises(DecoderCrashError, match="big.dcm: its RLE Lossless pixel data"):
        _decode(big, replace(DEFAULT_LIMITS, decode_memory_bytes=2**20))
    ds = nm_dataset(rows=1024, cols=256)
    ds.compress(JPEG2000Lossless)
    with pytest.raises(DecoderCrashError, match="took more than 0.001 s to decode"):
        decode_in_worker(ds, JPEG2000Lossless, "JPEG 2000", "big.dcm",
                         replace(DEFAULT_LIMITS, decode_seconds=0.001))
    assert _decode(rle).shape == (2, 128, 48)


def test_the_worker_dies_with_a_killed_reader(rle):
    script = textwrap.dedent(f"""
        import sys, time
        from mibgscore.io import read_scan
        from mibgscore.io._decoder import worker_pid
        read_scan({str(rle)!r})
        print(worker_pid(), flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.1)
    assert not _running(pid), f"decoding worker {pid} outlived the reader"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
