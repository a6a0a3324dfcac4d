"""Bundled demo: synthetic studies made at first start, and a demo reader account."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from pathlib import Path

from sqlalchemy import select

from mibgscore.app.db import User
from mibgscore.app.storage import Store
from mibgscore.app.users import add_user

logger = logging.getLogger(__name__)

DEMO_USER = "demo"
DEMO_FULL_NAME = "Dr Demo Reader"
"""The demo reader's name on reports (a fictitious physician)."""

DEMO_STUDIES: tuple[tuple[str, int, str, str, str, int], ...] = (
    # (file, seed, category, patient id, patient name (DICOM PN: Family^Given), days after
    # 2025-01-06)
    ("demo-normal.dcm", 21, "normal", "DEMO-001", "Normal^Demo", 0),
    ("demo-limited.dcm", 12, "limited", "DEMO-002", "Limited^Demo", 7),
    ("demo-extensive.dcm", 13, "extensive", "DEMO-003", "Extensive^Demo", 14),
    ("demo-followup-baseline.dcm", 18, "extensive", "DEMO-004", "Followup^Demo", 21),
    ("demo-followup-after-induction.dcm", 18, "limited", "DEMO-004", "Followup^Demo", 21 + 112),
)
"""The demo studies: a normal child, limited and extensive disease, and one patient (DEMO-004)
with a baseline and a post-induction scan 16 weeks later (lower score). With a category given,
the simulator draws the child and the camera before the disease, so one seed with two
categories is the same child with less disease."""


def make_demo_files(folder: Path) -> list[Path]:
    """Write the demo studies as DICOM NM files into ``folder`` (deterministic seeds)."""
    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study

    params = SimulationParams(matrix_weights=(1.0, 0.0))  # 256 x 1024, as most cameras

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    base = dt.date(2025, 1, 6)
    first: dict[str, object] = {}
    for name, seed, category, pid, pname, days in DEMO_STUDIES:
        path = folder / name
        out.append(path)
        if path.exists():
            continue
        scan = simulate_study(seed, category=category, params=params).scan
        date = base + dt.timedelta(days=days)
        # the follow-up is the same child: keep the baseline's birth date and sex
        ref = first.get(pid)
        birth = ref.patient.birth_date if ref is not None else (
            scan.patient.birth_date or date - dt.timedelta(days=int(365.25 * 4)))
        patient = dataclasses.replace(
            scan.patient, patient_id=pid, name=pname, birth_date=birth,
            sex=ref.patient.sex if ref is not None else scan.patient.sex,
            age_years=round((date - birth).days / 365.25, 1))
        uid_root = "2.25."
        study = dataclasses.replace(
            scan.study, study_date=date,
            study_uid=uid_root + str(int.from_bytes(f"demo-study-{name}".encode(), "big")
                                     % 10**30),
            series_uid=uid_root + str(int.from_bytes(f"demo-series-{name}".encode(), "big")
                                      % 10**30),
            sop_instance_uids=(), description=f"Demo: {category}")
        scan = dataclasses.replace(scan, patient=patient, study=study)
        first.setdefault(pid, scan)
        write_nm(scan, path)
    return out


def demo_password(store: Store) -> str:
    """Create the demo reader (once per data folder) and return its password."""
    path = Path(store.settings.data_dir) / "demo-password.txt"
    with store.session() as s:
        exists = s.scalar(select(User).where(User.username == DEMO_USER)) is not None
    if exists and path.exists():
        return path.read_text(encoding="ascii").strip()
    password = "mibg-" + secrets.token_hex(4)
    add_user(store, DEMO_USER, password, "reader")
    from mibgscore.app.profiles import set_full_name

    set_full_name(store, DEMO_USER, DEMO_FULL_NAME)
    path.write_text(password, encoding="ascii")
    path.chmod(0o600)
    return password
