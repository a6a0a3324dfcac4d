"""The fixture centre of the Models tests: a data folder of signed simulated studies.

``signed_centre(base)`` builds it once per test session under ``base`` (the unit and the
browser tests both copy it): 20 simulated two-view studies imported into the web application
(scored by a fast stand-in scorer) and signed by an administrator with their true SIOPEN grades,
as a centre's physicians would have read them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS

N_SIGNED = 20
PASSWORD = "correct horse 1"
SEED = 5100


def simulate_files(folder: Path, n: int, seed: int) -> list[tuple[Path, dict[str, int]]]:
    """``n`` simulated studies (256 x 1024) written as DICOM NM, with their true grades."""
    from mibgscore.io.write import write_nm
    from mibgscore.simulate import SimulationParams, simulate_study
    from mibgscore.simulate.study import child_seed

    folder.mkdir(parents=True, exist_ok=True)
    params = SimulationParams(matrix_weights=(1.0, 0.0))
    out = []
    for i in range(n):
        st = simulate_study(child_seed(seed, i), params=params)
        path = folder / f"case_{i:03d}.dcm"
        write_nm(st.scan, path)
        out.append((path, dict(st.truth.siopen)))
    return out


def _stand_in_scorer():
    """Grades 0 everywhere, no lesions: imports in milliseconds (the adaptation scores the
    stored scans itself). Its results name it ``stand-in``."""
    import hashlib

    from mibgscore.result import ModelInfo, ScoreResult

    model = ModelInfo("stand-in", "test fixture", hashlib.sha256(b"stand-in").hexdigest())

    def score(scan):
        return ScoreResult(file=scan.path or "", study_uid=scan.study.study_uid,
                           siopen={k: 0 for k in SIOPEN_KEYS},
                           siopen_confidence={k: 0.9 for k in SIOPEN_KEYS},
                           curie={k: 0 for k in CURIE_KEYS}, lesions=[], model=model)

    return score


def signed_centre(base: Path) -> Path:
    """The data folder (under ``base``, built once) with :data:`N_SIGNED` signed studies and
    the users ``root`` (admin) and ``alice`` (reader), password :data:`PASSWORD`."""
    folder = base / "signed-centre"
    data = folder / "data"
    if (folder / "ready").exists():
        return data
    shutil.rmtree(folder, ignore_errors=True)
    from sqlalchemy import select

    from mibgscore.app import AppSettings, create_app
    from mibgscore.app.db import Study, utcnow
    from mibgscore.app.users import add_user

    files = simulate_files(folder / "scans", N_SIGNED, SEED)
    app = create_app(AppSettings(data_dir=data, score_in_background=False),
                     scorer=_stand_in_scorer())
    store = app.state.store
    root = add_user(store, "root", PASSWORD, "admin")
    add_user(store, "alice", PASSWORD, "reader")
    report = app.state.import_paths([(p.name, p) for p, _ in files], root.id, keep=True)
    assert len(report.imported) == N_SIGNED, report.to_dict()
    truth = {}
    import pydicom

    for path, grades in files:
        truth[pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID] = grades
    with store.session() as s, s.begin():
        for st in s.scalars(select(Study)):
            st.siopen = dict(truth[st.study_uid])
            st.status, st.reader_id, st.signed_by, st.signed_at = \
                "signed", root.id, root.id, utcnow()
            st.version += 1
    store.sessions.kw["bind"].dispose()
    (folder / "ready").write_text("ok")
    return data


def copy_centre(base: Path, target: Path) -> Path:
    """A private copy of the fixture centre's data folder at ``target``."""
    shutil.copytree(signed_centre(base), target)
    return target


def test_the_fixture_centre_holds_signed_true_readings(tmp_path_factory, tmp_path):
    from sqlalchemy import select

    from mibgscore.app.db import Study, make_engine, make_sessionmaker

    data = copy_centre(tmp_path_factory.getbasetemp(), tmp_path / "data")
    engine = make_engine(f"sqlite:///{data / 'mibgscore.sqlite3'}")
    with make_sessionmaker(engine)() as s:
        studies = list(s.scalars(select(Study)))
    engine.dispose()
    assert len(studies) == N_SIGNED
    assert {st.status for st in studies} == {"signed"}
    totals = [sum(st.siopen.values()) for st in studies]
    assert min(totals) == 0 and max(totals) > 3, totals  # normals and disease
