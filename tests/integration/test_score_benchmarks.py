"""Tiny runs of the benchmark scripts, so that they do not rot (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_speed_benchmark_prints_its_table(tmp_path):
    out = tmp_path / "speed.md"
    proc = _run("speed.py", "--k", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "256 x 1024" in text and "512 x 2048" in text and "peak memory" in text
