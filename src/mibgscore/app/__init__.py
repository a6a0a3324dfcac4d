"""The web application: worklist, viewer, corrections, sign-off, follow-up, exports."""

from mibgscore.app.main import create_app
from mibgscore.app.settings import AppSettings

__all__ = ["AppSettings", "create_app", "load_demo"]


def load_demo(app) -> str:
    """Import the bundled demo studies into ``app`` (once) and return the demo password."""
    from pathlib import Path

    from mibgscore.app.demo import demo_password, make_demo_files

    store = app.state.store
    files = make_demo_files(Path(store.settings.data_dir) / "demo-dicom")
    app.state.import_paths([(p.name, p) for p in files], None, keep=True)
    return demo_password(store)
