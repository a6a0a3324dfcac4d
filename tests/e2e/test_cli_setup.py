"""scripts/_setup.sh waits for the dpkg lock another apt process holds, instead of failing.

A temporary file stands in for /var/lib/dpkg/lock-frontend; ``flock`` holds it open as apt
(or unattended-upgrades) would, and the set-up's ``wait_for_dpkg_lock`` is run against it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[2] / "scripts" / "_setup.sh"

pytestmark = pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux)")


def _wait(lock: Path, timeout: float, poll: float = 0.2) -> tuple[int, str, float]:
    script = (f'MIBGSCORE_SETUP_DEFINE_ONLY=1 source "{SETUP}"; '
              f'wait_for_dpkg_lock "{lock}" {timeout} {poll}')
    start = time.monotonic()
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stderr, time.monotonic() - start


def _hold(lock: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(["flock", str(lock), "sleep", str(seconds)])
    for _ in range(100):  # until the holder has the file open
        if subprocess.run(["fuser", str(lock)], capture_output=True).returncode == 0 \
                if shutil.which("fuser") else Path(f"/proc/{holder.pid}").exists():
            break
        time.sleep(0.02)
    return holder


def test_waits_until_the_lock_is_released(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = _hold(lock, 2.0)
    try:
        rc, err, seconds = _wait(lock, timeout=30)
    finally:
        holder.wait(timeout=10)
    assert rc == 0, err
    assert seconds >= 1.5, f"returned after {seconds:.1f} s while the lock was held"
    assert "Waiting for another apt process to release" in err


def test_gives_up_with_one_sentence_after_the_timeout(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = _hold(lock, 20.0)
    try:
        rc, err, seconds = _wait(lock, timeout=1)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert rc == 1 and seconds < 10
    assert f"error: {lock} is still held after 1 s" in err


def test_a_free_or_absent_lock_does_not_wait(tmp_path):
    lock = tmp_path / "lock-frontend"
    lock.touch()
    rc, err, seconds = _wait(lock, timeout=30)
    assert rc == 0 and err == "" and seconds < 5
    rc, _, _ = _wait(tmp_path / "absent", timeout=30)
    assert rc == 0


def test_apt_is_told_to_wait_too():
    text = SETUP.read_text()
    assert 'DPkg::Lock::Timeout=$DPKG_LOCK_TIMEOUT' in text
    assert text.index("wait_for_dpkg_lock\n") < text.index('"${apt[@]}" update')
