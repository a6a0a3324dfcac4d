"""The decoding worker: a separate process that decodes compressed pixel data for the reader.

Run as a script (``python _decode_worker.py MEMORY_BYTES``), it imports only numpy and
pydicom, limits its own address space (RLIMIT_AS) and core dumps, then answers requests on
its standard input until that closes (the reader exited, or was killed). A native decoder
that aborts, or a memory bomb, ends this process only: the reader reports the file and
starts a fresh worker for the next one.

Protocol, both ways: an 8-byte big-endian length and a JSON header, then an 8-byte length
and raw bytes. Request header ``{"ts", "attrs"}`` and the encapsulated Pixel Data; answer
``{"ok": true, "shape", "dtype"}`` and the pixel bytes, or ``{"ok": false, "kind", "text"}``.
No pickle crosses the pipe.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> tuple[dict, bytes]:
    (n,) = struct.unpack(">Q", _read_exact(fd, 8))
    header = json.loads(_read_exact(fd, n))
    (m,) = struct.unpack(">Q", _read_exact(fd, 8))
    return header, _read_exact(fd, m)


def _write_frame(fd: int, header: dict, payload: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    data = struct.pack(">Q", len(raw)) + raw + struct.pack(">Q", len(payload))
    for part in (data, payload):
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


def _decode(header: dict, pixel_data: bytes):
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.pixels import get_decoder, pixel_array

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = header["ts"]
    for keyword, value in header["attrs"].items():
        setattr(ds, keyword, value)
    ds.PixelData = pixel_data
    ds["PixelData"].VR = "OB"
    plugins = list(get_decoder(header["ts"]).available_plugins)
    # gdcm aborts the process on some damaged data: used only when nothing else can decode;
    # the compiled plugins first (pydicom's own RLE decoder is pure Python, 10 times slower).
    safe = sorted((p for p in plugins if p != "gdcm"), key=lambda p: p == "pydicom") \
        or plugins
    if not safe:
        return {"ok": False, "kind": "unsupported", "text": "no plugin"}, None
    last = None
    for plugin in safe:
        try:
            return None, np.ascontiguousarray(pixel_array(ds, decoding_plugin=plugin))
        except MemoryError:
            raise
        except BaseException as exc:  # decoders written in Rust raise PanicException
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            last = exc
    lines = [x.strip() for x in str(last).strip().splitlines() if x.strip()]
    if any(w in x.lower() for x in lines for w in ("not support", "no plugin",
                                                   "no pixel data decoders")):
        return {"ok": False, "kind": "unsupported", "text": lines[-1][:100]}, None
    # pydicom's first line says that every plugin failed; the next ones say how
    text = (lines[1] if len(lines) > 1 and lines[0].startswith("Unable to decode")
            else lines[0] if lines else type(last).__name__)
    return {"ok": False, "kind": "damaged", "text": text[:100]}, None


def main() -> int:
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 2 * 2**30
    # The pipe is ours: whatever a decoder prints goes nowhere.
    out = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    import numpy  # noqa: F401 - imported before the address space is limited
    import pydicom.pixels  # noqa: F401

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    while True:
        try:
            header, payload = _read_frame(0)
        except EOFError:
            return 0
        try:
            error, arr = _decode(header, payload)
        except MemoryError:
            error, arr = {"ok": False, "kind": "memory", "text": "out of memory"}, None
        del payload
        if error is not None:
            _write_frame(out, error)
        else:
            _write_frame(out, {"ok": True, "shape": list(arr.shape), "dtype": arr.dtype.str},
                         arr.tobytes())
        del arr


if __name__ == "__main__":
    sys.exit(main())
