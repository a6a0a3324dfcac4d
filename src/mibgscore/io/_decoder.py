"""Compressed pixel data decoded in a worker process, so that no decoder can take the reader
down: a native abort (gdcm on damaged JPEG 2000), a memory bomb or a hang ends the worker,
and the file gets one sentence; the next file gets a fresh worker.

One worker per reading process, started on first use and shared by its threads (one decode
at a time). It exits when the reading process closes its pipe, dies or is killed.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from mibgscore.errors import DecoderCrashError, InputError
from mibgscore.io.limits import DEFAULT_LIMITS, ReadLimits

logger = logging.getLogger(__name__)

_WORKER = Path(__file__).with_name("_decode_worker.py")
_ATTRS = ("Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated",
          "BitsStored", "HighBit", "PixelRepresentation", "PhotometricInterpretation",
          "PlanarConfiguration")


class _WorkerGone(Exception):
    """The worker died or did not answer in time."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _Worker:
    """One decoding process and its pipes."""

    def __init__(self, limits: ReadLimits) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-u", str(_WORKER), str(limits.decode_memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True)
        self.owner = os.getpid()
        self.limits = limits

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.proc.poll() is None

    def close(self) -> None:
        if self.owner != os.getpid():
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def why_dead(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it stopped answering"
        if code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"

    def request(self, header: dict, payload: bytes, seconds: float) -> tuple[dict, bytes]:
        raw = json.dumps(header).encode()
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(struct.pack(">Q", len(raw)) + raw
                                  + struct.pack(">Q", len(payload)))
            self.proc.stdin.write(payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _WorkerGone(self.why_dead()) from None
        deadline = time.monotonic() + seconds
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        (n,) = struct.unpack(">Q", self._read(fd, 8, deadline))
        answer = json.loads(self._read(fd, n, deadline))
        (m,) = struct.unpack(">Q", self._read(fd, 8, deadline))
        return answer, self._read(fd, m, deadline)

    def _read(self, fd: int, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while n:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise _WorkerGone("timeout")
                chunk = os.read(fd, min(n, 1 << 20))
                if not chunk:
                    raise _WorkerGone(self.why_dead())
                chunks.append(chunk)
                n -= len(chunk)
        return b"".join(chunks)


_lock = threading.Lock()
_worker: _Worker | None = None


def _close_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


atexit.register(_close_worker)


def worker_pid() -> int | None:
    """The process id of this process's decoding worker, if one runs (for tests)."""
    w = _worker
    return w.proc.pid if w is not None and w.alive() else None


def decode_in_worker(ds: Dataset, ts: str, ts_name: str, label: str,
                     limits: ReadLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode ``ds``'s compressed Pixel Data in the worker process.

    Returns
    -------
    ndarray
        As ``pydicom.pixels.pixel_array`` returns it: (rows, cols) or (frames, rows, cols).

    Raises
    ------
    DecoderCrashError
        The worker died on this file (a native abort, the memory limit) or overran the time
        limit; the file should be set aside, not read again.
    InputError
        No installed decoder reads this transfer syntax, or the data is damaged.
    """
    global _worker
    attrs = {}
    for keyword in _ATTRS:
        value = ds.get(keyword)
        if value is not None and value != "":
            attrs[keyword] = int(value) if keyword != "PhotometricInterpretation" \
                else str(value)
    pixel_data = bytes(ds.PixelData)
    with _lock:
        if _worker is not None and _worker.alive() and _worker.limits != limits:
            _worker.close()
        if _worker is None or not _worker.alive() or _worker.limits != limits:
            _worker = _Worker(limits)
        worker = _worker
        try:
            answer, payload = worker.request({"ts": ts, "attrs": attrs}, pixel_data,
                                             limits.decode_seconds)
        except _WorkerGone as gone:
            _worker = None
            logger.debug("decoding worker ended: %s", gone.why)
            if gone.why == "timeout":
                raise DecoderCrashError(
                    f"its {ts_name} pixel data took more than {limits.decode_seconds:g} s to "
                    f"decode; the file was set aside", path=label) from None
            raise DecoderCrashError(
                f"its {ts_name} pixel data crashed the decoder ({gone.why}): the file is "
                f"damaged and was set aside", path=label) from None
    if not answer.get("ok"):
        kind, text = answer.get("kind"), str(answer.get("text", ""))[:100]
        if kind == "unsupported":
            hint = (" (install pylibjpeg-libjpeg to read 12-bit JPEG)"
                    if ts == "1.2.840.10008.1.2.4.51" else "")
            raise InputError(f"has pixel data in {ts_name}, which no installed decoder can "
                             f"read{hint}", path=label)
        if kind == "memory":
            raise DecoderCrashError(
                f"its {ts_name} pixel data needs more than the "
                f"{limits.decode_memory_bytes / 2**30:g} GiB allowed to decode; the file was "
                f"set aside", path=label)
        raise InputError(f"has damaged or truncated pixel data ({ts_name}: {text})",
                         path=label)
    shape = tuple(int(x) for x in answer["shape"])
    dtype = np.dtype(str(answer["dtype"]))
    if dtype.kind not in "uif" or int(np.prod(shape)) * dtype.itemsize != len(payload):
        raise InputError(f"has pixel data that decodes to an unusable array ({ts_name})",
                         path=label)
    return np.frombuffer(payload, dtype=dtype).reshape(shape)
