"""Seeded fuzzing of the reader and the scorer: hostile DICOM files and zips through
`mibgscore info` and `mibgscore score`, each run guarded in time and memory.

    nice -n 10 .venv/bin/python benchmarks/fuzz.py --n 10000 --seed 14 \\
        --work /tmp/fuzz --out docs/robustness.md

Every file is a mutation of a simulated study (uncompressed, RLE, JPEG-LS and JPEG 2000
copies), drawn from a seeded generator: byte flips, truncation, element deletion and
duplication, wrong VR, huge or negative sizes, frame counts, bits, transfer syntax swaps,
garbage fragments for every compressed transfer syntax, bad pixel spacing, overlong and
non-ASCII strings, and hostile zips. File ``i`` of seed ``s`` is always the same file.

The commands run in a runner process (``--runner``) that calls the command line's own
``main()`` for each file, its standard output and error captured at the file-descriptor
level; the supervisor gives each command 10 s and 1 GiB (peak resident memory, reset
before each command), counts the runner's deaths (a signal, an abort), tracebacks, runs
over a guard, exit codes and stderr line counts, and starts a fresh runner after a death or
an overrun. A refusal must exit 2 with at most 2 stderr lines, the first naming the file.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 10.0  # CPU time of the runner and its decoding worker, per command
WALL_SECONDS = 60.0  # wall time: the run is niced on a shared machine, so CPU time is the
# fair measure of work; the wall limit catches a command that hangs without working
MEMORY_BYTES = 2**30
COMPRESSED = {
    "1.2.840.10008.1.2.4.50": b"\xff\xd8\xff\xe0",  # JPEG baseline
    "1.2.840.10008.1.2.4.51": b"\xff\xd8\xff\xc1",  # JPEG extended
    "1.2.840.10008.1.2.4.57": b"\xff\xd8\xff\xc3",  # JPEG lossless
    "1.2.840.10008.1.2.4.70": b"\xff\xd8\xff\xc3",  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.80": b"\xff\xd8\xff\xf7",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.81": b"\xff\xd8\xff\xf7",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.4.90": b"\xff\x4f\xff\x51",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91": b"\xff\x4f\xff\x51",  # JPEG 2000
    "1.2.840.10008.1.2.4.201": b"\xff\x4f\xff\x51",  # HTJ2K lossless
    "1.2.840.10008.1.2.4.203": b"\xff\x4f\xff\x51",  # HTJ2K
    "1.2.840.10008.1.2.5": None,  # RLE: a header announcing n segments
}
SYNTAXES = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.1.99", "1.2.3.4.5", "", *COMPRESSED]
FRAMES = [0, -1, 3, 7, 65, 16384, 65536, 10_000_000, 2_147_483_647, "abc", "1e9", ""]
SIZES = [0, 1, 2, 255, 4097, 32767, 65535]
BITS = [0, 1, 7, 12, 24, 64, 128, 255]
SPACINGS = ["0", "-1", "1e-9", "1e-308", "0.001", "0.01", "0.1", "1000", "1e308", "nan",
            "inf", "abc", "2.4", "2.4\\0", "0\\2.4"]
STRINGS = ["=HYPERLINK(\"http://x\",\"a\")", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3",
           "\x00\x01\x02", "é" * 300, "A" * 70000, "ANT POST", "POST", "\\" * 64,
           "\u202e\u0000<script>"]
KINDS = ("flip", "truncate", "delete", "duplicate", "wrong_vr", "size", "frames", "bits",
         "syntax", "garbage", "spacing", "string", "zip")


# --------------------------------------------------------------------------- the files


def base_files(folder: Path) -> list[Path]:
    """A simulated study, and its RLE, JPEG-LS and JPEG 2000 copies (those an encoder here
    can write)."""
    import pydicom
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "base_native.dcm"
    if not out.exists():
        _simulate(folder)
    files = [out]
    for name, ts in (("rle", RLELossless), ("jpegls", JPEGLSLossless),
                     ("j2k", JPEG2000Lossless)):
        target = folder / f"base_{name}.dcm"
        if not target.exists():
            ds = pydicom.dcmread(out)
            try:
                ds.compress(ts)
            except Exception:  # no encoder for it here
                continue
            ds.save_as(target)
        files.append(target)
    return files


def _simulate(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "simulate", tmp, "--n",
                        "1", "--seed", "3"], check=True, capture_output=True)
        (Path(tmp) / "case_000.dcm").replace(folder / "base_native.dcm")


def mutate(bases: list[Path], seed: int, index: int, folder: Path) -> tuple[Path, str]:
    """Write hostile file ``index`` of ``seed`` into ``folder``; return it and its kind."""
    rng = np.random.default_rng([seed, index])
    kind = KINDS[int(rng.integers(len(KINDS)))]
    base = bases[int(rng.integers(len(bases)))]
    path = folder / f"f{index:05d}_{kind}.dcm"
    if kind == "zip":
        path = path.with_suffix(".zip")
        _hostile_zip(rng, base, path)
        return path, kind
    data = base.read_bytes()
    if kind == "flip":
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 40))):
            b[int(rng.integers(128, len(b)))] = int(rng.integers(256))
        path.write_bytes(bytes(b))
    elif kind == "truncate":
        path.write_bytes(data[:int(rng.integers(0, len(data)))])
    elif kind == "duplicate" and rng.random() < 0.5:
        at, n = int(rng.integers(132, len(data))), int(rng.integers(8, 400))
        src = int(rng.integers(132, len(data) - n))
        path.write_bytes(data[:at] + data[src:src + n] + data[at:])
    else:
        _dataset_mutation(rng, kind, base, path)
    return path, kind


def _dataset_mutation(rng, kind: str, base: Path, path: Path) -> None:
    import pydicom

    ds = pydicom.dcmread(base)
    try:
        _change(rng, kind, ds)
        ds.save_as(path, enforce_file_format=False)
    except Exception:  # a mutation pydicom cannot write: the bytes of its truncation
        path.write_bytes(base.read_bytes()[:int(rng.integers(0, 2000))])


def _change(rng, kind: str, ds) -> None:
    import pydicom
    from pydicom.encaps import encapsulate

    tags = [t for t in ds.keys() if t != 0x7FE00010]
    if kind == "delete":
        for _ in range(int(rng.integers(1, 4))):
            tag = tags[int(rng.integers(len(tags)))]
            if tag in ds:
                del ds[tag]
    elif kind == "duplicate":  # a sequence item twice, or one view's detector item copied
        seqs = [t for t in tags if ds[t].VR == "SQ" and len(ds[t].value)]
        if seqs:
            seq = ds[seqs[int(rng.integers(len(seqs)))]].value
            seq.append(seq[0])
    elif kind == "wrong_vr":
        tag = [0x00280010, 0x00280011, 0x00280008, 0x00280030, 0x00280100, 0x00540020,
               0x00540010, 0x00100020][int(rng.integers(8))]
        vr = ["LO", "FD", "SS", "UN", "SQ", "OB", "DS", "AT"][int(rng.integers(8))]
        value = {"FD": struct.pack("<d", -1e308), "SS": struct.pack("<h", -5), "SQ": b"",
                 "OB": b"\xff" * 7, "UN": b"\x01\x02", "AT": b"\x34\x12\x78"}.get(
            vr, "-1\\65535\\x")
        _raw(ds, tag, vr, value)
    elif kind == "size":
        for kw in ("Rows", "Columns"):
            if rng.random() < 0.7:
                setattr(ds, kw, SIZES[int(rng.integers(len(SIZES)))])
    elif kind == "frames":
        value = FRAMES[int(rng.integers(len(FRAMES)))]
        _raw(ds, 0x00280008, "IS", str(value))
    elif kind == "bits":
        kw = ["BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
              "SamplesPerPixel"][int(rng.integers(5))]
        setattr(ds, kw, BITS[int(rng.integers(len(BITS)))])
    elif kind == "syntax":
        ds.file_meta.TransferSyntaxUID = SYNTAXES[int(rng.integers(len(SYNTAXES)))]
    elif kind == "garbage":
        ts = list(COMPRESSED)[int(rng.integers(len(COMPRESSED)))]
        ds.file_meta.TransferSyntaxUID = ts
        magic = COMPRESSED[ts]
        frags = []
        for _ in range(int(ds.get("NumberOfFrames", 1) or 1)):
            body = rng.bytes(int(rng.integers(0, 400)))
            if magic is None:  # RLE header: n segments, offsets possibly wild
                n = int(rng.integers(0, 16))
                offs = [64 + int(rng.integers(0, 2000)) for _ in range(n)]
                body = struct.pack("<16L", n, *offs, *([0] * (15 - n))) + body
            else:
                body = magic + body
            frags.append(body)
        ds.PixelData = encapsulate(frags)
        ds["PixelData"].VR = "OB"
        if rng.random() < 0.3:
            ds.Rows = ds.Columns = 65535
    elif kind == "spacing":
        value = SPACINGS[int(rng.integers(len(SPACINGS)))]
        _raw(ds, 0x00280030, "DS", value)
        if rng.random() < 0.3 and "PatientSize" in ds:
            ds.PatientSize = ["0", "-1", "1e9", "150"][int(rng.integers(4))]
    elif kind == "string":
        kw = ["PatientName", "PatientID", "SeriesDescription", "StudyDescription",
              "ImageID", "PatientAge", "StudyDate", "StudyInstanceUID"][int(rng.integers(8))]
        text = STRINGS[int(rng.integers(len(STRINGS)))]
        tag = pydicom.datadict.tag_for_keyword(kw)
        if rng.random() < 0.3:  # raw bytes in a text element, no Specific Character Set
            _raw(ds, tag, "LO", rng.bytes(int(rng.integers(1, 64))))
        else:
            _raw(ds, tag, "LO", text)


def _raw(ds, tag: int, vr: str, value: str | bytes) -> None:
    """Put an element as raw bytes (written as they are, whatever its VR allows)."""
    from pydicom.dataelem import RawDataElement

    data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    if len(data) % 2:
        data += b" "
    ds[tag] = RawDataElement(tag, vr, len(data), data, 0, False, True)


def _hostile_zip(rng, base: Path, path: Path) -> None:
    """A zip of one of the hostile shapes: bad CRC, encryption flag, method 99, zip in zip,
    a member declaring a huge size, many members, or a fine zip."""
    shape = int(rng.integers(7))
    data = base.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if shape == 3:  # zip in zip: the inner member is zeros packed very small
            inner = io.BytesIO()
            with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as iz:
                iz.writestr("zeros.dcm", b"\0" * (64 * 2**20))
            zf.writestr("inner.zip", inner.getvalue())
        elif shape == 5:
            for i in range(300):
                zf.writestr(f"m{i:04d}.dcm", data[:int(rng.integers(0, 600))])
        else:
            zf.writestr("a.dcm", data)
    raw = bytearray(buf.getvalue())
    if shape == 0:  # bad CRC: a byte of the packed data changed
        raw[60 + int(rng.integers(0, 200))] ^= 0xFF
    elif shape in (1, 2):  # encryption flag, or method 99, in both headers
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):
            at = raw.find(sig)
            off = 6 if sig == b"PK\x03\x04" else 8
            if shape == 1:
                raw[at + off] |= 1
            else:
                raw[at + off + 2:at + off + 4] = struct.pack("<H", 99)
    elif shape == 4:  # a member declaring 2.5 GB unpacked
        at = raw.find(b"PK\x01\x02")
        raw[at + 24:at + 28] = struct.pack("<L", 2_500_000_000)
    path.write_bytes(bytes(raw))


# --------------------------------------------------------------------------- the runner


def runner() -> int:
    """Run `mibgscore` commands in this process, one JSON request per line on stdin."""
    from mibgscore.cli.main import main

    out = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        req = json.loads(line)
        _reset_peak()
        t0 = time.perf_counter()
        c0 = _cpu()
        with tempfile.TemporaryFile() as so, tempfile.TemporaryFile() as se:
            saved = os.dup(1), os.dup(2)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(so.fileno(), 1)
            os.dup2(se.fileno(), 2)
            try:
                rc = main(req["argv"])
            except BaseException as exc:  # noqa: BLE001 - counted, never hidden
                rc = f"raised {type(exc).__name__}"
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
            so.seek(0)
            se.seek(0)
            stdout = so.read().decode("utf-8", "replace")
            stderr = se.read().decode("utf-8", "replace")
        out.write(json.dumps({"rc": rc, "seconds": time.perf_counter() - t0,
                              "cpu": _cpu() - c0,
                              "peak": _peak(), "stderr": stderr[:4000],
                              "traceback": "Traceback (most recent call last)" in stdout
                              + stderr}) + "\n")
    return 0


def _cpu() -> float:
    """CPU seconds of this process and of its live children (the decoding worker)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for pid in _children(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak() -> int:
    """Peak resident memory of this process since the last reset, in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class Runner:
    """A runner process and the guards around each of its commands."""

    def __init__(self) -> None:
        env = dict(os.environ, MIBGSCORE_LOG_DIR=tempfile.mkdtemp(prefix="fuzz-crash-"))
        self.log_dir = env["MIBGSCORE_LOG_DIR"]
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                                      "--runner"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd=ROOT)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def run(self, argv: list[str], seconds: float, memory: int) -> dict:
        """One command: its answer, or ``{"death": ...}`` / ``{"overrun": ...}``."""
        try:
            self.proc.stdin.write(json.dumps({"argv": argv}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"death": self._death()}
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                return {"overrun": f"over {seconds:g} s"}
            if self.sel.select(min(left, 0.05)):
                line = self.proc.stdout.readline()
                if not line:
                    return {"death": self._death()}
                answer = json.loads(line)
                if answer["peak"] > memory:
                    answer["overrun"] = f"peak {answer['peak'] / 2**20:.0f} MiB"
                elif answer["cpu"] > SECONDS:
                    answer["overrun"] = f"{answer['cpu']:.1f} s of CPU"
                return answer
            if _rss(self.proc.pid) > memory:
                self.kill()
                return {"overrun": f"over {memory / 2**20:.0f} MiB"}

    def _death(self) -> str:
        code = self.proc.wait(timeout=10)
        return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


def _rss(pid: int) -> int:
    """Resident memory of a process and its children (the decoding worker), in bytes."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


# --------------------------------------------------------------------------- the run


@dataclass
class Tally:
    """What the runs gave, per command."""

    runs: int = 0
    deaths: int = 0
    tracebacks: int = 0
    overruns: int = 0
    exit_codes: Counter = field(default_factory=Counter)
    bad_refusals: int = 0  # exit 2 with more than 2 stderr lines, or not naming the file
    max_stderr_lines: int = 0
    max_seconds: float = 0.0
    max_cpu: float = 0.0
    max_peak: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, answer: dict, name: str, kind: str) -> None:
        self.runs += 1
        problem = None
        if "death" in answer:
            self.deaths += 1
            problem = f"death ({answer['death']})"
        elif "overrun" in answer and "rc" not in answer:
            self.overruns += 1
            problem = f"overrun ({answer['overrun']})"
        else:
            if "overrun" in answer:
                self.overruns += 1
                problem = f"overrun ({answer['overrun']})"
            rc = answer["rc"]
            self.exit_codes[str(rc)] += 1
            lines = [x for x in answer["stderr"].splitlines() if x.strip()]
            self.max_stderr_lines = max(self.max_stderr_lines, len(lines))
            self.max_seconds = max(self.max_seconds, answer["seconds"])
            self.max_cpu = max(self.max_cpu, answer.get("cpu", 0.0))
            self.max_peak = max(self.max_peak, answer["peak"])
            if answer["traceback"]:
                self.tracebacks += 1
                problem = "traceback"
            elif rc == 2 and (len(lines) > 2 or not lines or name.split("!")[0] not in
                              lines[0]):
                self.bad_refusals += 1
                problem = f"refusal in {len(lines)} lines: {lines[:1]}"
            elif rc not in (0, 2):
                problem = f"exit {rc}: {lines[:1]}"
        if problem and len(self.examples) < 12:
            self.examples.append(f"`{name}` ({kind}): {problem}")


def run(n: int, seed: int, work: Path, commands: tuple[str, ...], log=None,
        every=None) -> dict:
    """Fuzz ``n`` files of ``seed`` through ``commands``; return the tallies.

    ``every(result)`` is called with the tallies so far after each 250 files."""
    bases = base_files(work / "base")
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    tallies = {c: Tally() for c in commands}
    kinds: Counter = Counter()
    runner_ = Runner()
    t0 = time.monotonic()
    try:
        for i in range(n):
            path, kind = mutate(bases, seed, i, files)
            kinds[kind] += 1
            for command in commands:
                answer = runner_.run([command, str(path)], WALL_SECONDS, MEMORY_BYTES)
                tallies[command].add(answer, path.name, kind)
                if "death" in answer or "rc" not in answer:
                    runner_ = Runner()
                if log is not None:
                    log.write(json.dumps({"i": i, "file": path.name, "kind": kind,
                                          "command": command,
                                          **{k: v for k, v in answer.items()
                                             if k != "stderr"},
                                          "stderr": answer.get("stderr", "")[:300]}) + "\n")
            path.unlink()
            if log is not None and (i + 1) % 100 == 0:
                log.flush()
            if every is not None and (i + 1) % 250 == 0 and i + 1 < n:
                every({"n": i + 1, "seed": seed, "seconds": time.monotonic() - t0,
                       "kinds": kinds, "tallies": tallies})
    finally:
        runner_.close()
    return {"n": n, "seed": seed, "seconds": time.monotonic() - t0, "kinds": kinds,
            "tallies": tallies}


def from_log(path: Path, seed: int) -> dict:
    """The tallies of a run, rebuilt from its JSON Lines log (``--log``)."""
    tallies: dict[str, Tally] = {}
    kinds: Counter = Counter()
    seen: set[int] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["i"] not in seen:
            seen.add(row["i"])
            kinds[row["kind"]] += 1
        tallies.setdefault(row["command"], Tally()).add(row, row["file"], row["kind"])
    return {"n": len(seen), "seed": seed, "seconds": float("nan"), "kinds": kinds,
            "tallies": tallies}


def report(result: dict, command_line: str) -> str:
    """docs/robustness.md's fuzz section, in Markdown."""
    commands = ", ".join(f"`{c}`" for c in result["tallies"])
    lines = [f"## Fuzz: {commands}", "", "```", command_line, "```", "",
             f"{result['n']:,} hostile files (seed {result['seed']}), each through every "
             f"command below in a guarded runner (per command: {SECONDS:g} s of CPU, "
             f"{WALL_SECONDS:g} s of wall time, {MEMORY_BYTES / 2**30:g} GiB peak resident "
             f"memory)" + (f", in {result['seconds'] / 60:.0f} min" if result["seconds"] ==
                           result["seconds"] else "") + ". Kinds: "
             + ", ".join(f"{k} {v}" for k, v in sorted(result["kinds"].items())) + ".", "",
             "| command | runs | process deaths | tracebacks | overruns | refusals over 2 "
             "lines or not naming the file | exit codes | most stderr lines | most CPU | "
             "slowest (wall) | highest peak memory |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for command, t in result["tallies"].items():
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(t.exit_codes.items()))
        lines.append(f"| `{command}` | {t.runs:,} | {t.deaths} | {t.tracebacks} | "
                     f"{t.overruns} | {t.bad_refusals} | {codes} | {t.max_stderr_lines} | "
                     f"{t.max_cpu:.1f} s | {t.max_seconds:.1f} s | "
                     f"{t.max_peak / 2**20:.0f} MiB |")
    examples = [e for t in result["tallies"].values() for e in t.examples]
    if examples:
        lines += ["", "Problems seen (first of each command):", ""]
        lines += [f"- {e}" for e in examples]
    return "\n".join(lines) + "\n"


def write_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` in ``path`` between the markers of section ``name`` (replacing what was
    there, or appended), leaving the rest of the page as it is."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        head, rest = old.split(start, 1)
        new = head + block + rest.split(end, 1)[1]
    else:
        new = (old.rstrip() + "\n\n" if old else "") + block + "\n"
    path.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "mibgscore-fuzz")
    ap.add_argument("--out", type=Path, help="Markdown page to write the report into (its "
                    "section between <!-- fuzz COMMANDS --> markers)")
    ap.add_argument("--log", type=Path, help="JSON Lines log of every run")
    ap.add_argument("--commands", default="info,score")
    ap.add_argument("--runner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--from-log", type=Path, help="report a finished (or stopped) run from "
                    "its log instead of running")
    args = ap.parse_args(argv)
    if args.runner:
        return runner()
    if args.from_log:
        result = from_log(args.from_log, args.seed)
        text = report(result, f"nice -n 10 .venv/bin/python benchmarks/fuzz.py --n {args.n} "
                              f"--seed {args.seed} --commands {args.commands} --log "
                              f"{args.from_log.name}")
        if result["n"] < args.n:
            text = (f"Stopped after {result['n']:,} of {args.n:,} files (the report is "
                    f"rebuilt from the log).\n\n") + text
        print(text)
        if args.out:
            write_section(args.out, f"fuzz {args.commands}", text)
        return 0
    log = args.log.open("w") if args.log else None
    shown = " ".join(["benchmarks/fuzz.py", *(argv if argv is not None else sys.argv[1:])])
    command_line = f"nice -n 10 .venv/bin/python {shown}"

    def write(result: dict, final: bool = False) -> None:
        text = report(result, command_line)
        if not final:
            text = f"(in progress: {result['n']:,} of {args.n:,} files)\n\n" + text
        if args.out:
            write_section(args.out, f"fuzz {args.commands}", text)

    try:
        result = run(args.n, args.seed, args.work, tuple(args.commands.split(",")), log,
                     every=write)
    finally:
        if log is not None:
            log.close()
    write(result, final=True)
    print(report(result, command_line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
