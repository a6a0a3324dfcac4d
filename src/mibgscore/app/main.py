"""The FastAPI application: builds the service objects, wires them, includes the routers.

The routes live in ``mibgscore.app.routes`` (one router per area), the work in the job
modules: ``users``, ``imports``, ``scoring``, ``readings``, ``studies``, ``followup``,
``exports``, ``storage``.
"""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.middleware.gzip import GZipMiddleware

from mibgscore import __version__
from mibgscore.app.db import Study, init_db, make_engine, make_sessionmaker
from mibgscore.app.imports import Importer, watch_folder
from mibgscore.app.middleware import add_error_handlers, add_session_middleware
from mibgscore.app.pacs import attach_pacs
from mibgscore.app.routes import ROUTERS
from mibgscore.app.routes.deps import Services
from mibgscore.app.routes.models import attach_models
from mibgscore.app.schemes import Schemes
from mibgscore.app.scoring import Scorer, ScoringQueue, submitter
from mibgscore.app.security import LoginLimiter, SessionSigner
from mibgscore.app.settings import AppSettings
from mibgscore.app.storage import Store, rekey_old_studies

HERE = Path(__file__).resolve().parent

DESCRIPTION = ("Reading of 123I-MIBG whole-body scans: worklist, automatic SIOPEN and Curie "
               "scores, corrections, sign-off, follow-up, exports. Research use only.")


def create_app(settings: AppSettings, *, scorer: Scorer | None = None) -> FastAPI:
    """The web application for ``settings`` (database created or migrated at start).

    Parameters
    ----------
    settings : AppSettings
        Data folder, database URL, limits, segment tables.
    scorer : callable, optional
        ``scorer(scan) -> ScoreResult``; by default ``mibgscore.pipeline.score`` with the
        segment tables of ``settings.segments``.

    Raises
    ------
    SchemeError
        A table of ``settings.segments`` cannot be used.
    ModelError
        The model folder of ``settings.model`` cannot be used (``app.models``).
    """
    svc = _services(settings, scorer)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _start_background(app, svc, stop)
        yield
        stop.set()
        svc.queue.stop()

    app = FastAPI(title="mibgscore", version=__version__, lifespan=lifespan,
                  description=DESCRIPTION, docs_url=None, redoc_url=None)
    app.state.services = svc
    app.state.store = svc.store
    app.state.queue = svc.queue
    app.state.settings = settings
    app.state.submit = svc.submit
    app.state.import_paths = svc.importer.import_paths
    app.state.ready = False
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=4096)
    add_session_middleware(app, svc)
    add_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    attach_pacs(app, svc)
    attach_models(app, svc, custom_scorer=scorer is not None)  # the model in use
    return app


def _services(settings: AppSettings, scorer: Scorer | None) -> Services:
    settings.prepare_data_dir()  # 0700 folders, 0600 database: they hold patient data
    engine = make_engine(settings.url)
    init_db(engine)
    store = Store(settings, make_sessionmaker(engine), Schemes.load(settings.segments))
    rekey_old_studies(store)
    queue = ScoringQueue(store, scorer)
    submit = submitter(store, queue, background=settings.score_in_background)
    return Services(
        settings=settings, store=store, queue=queue, importer=Importer(store, submit),
        submit=submit, templates=Jinja2Templates(directory=str(HERE / "templates")),
        signer=SessionSigner(settings.secret_key(), settings.session_hours * 3600),
        limiter=LoginLimiter(settings.login_failures_per_minute, 60.0))


def _start_background(app: FastAPI, svc: Services, stop: threading.Event) -> None:
    """Start the scoring thread, queue the studies left unscored, watch the import folder."""
    settings = svc.settings
    if settings.score_in_background:
        svc.queue.start()
    with svc.store.session() as s:
        pending = [st.id for st in s.scalars(select(Study).where(
            Study.status.in_(("new", "scoring"))))]
    for sid in pending:
        svc.submit(sid)
    if settings.import_dir is not None:
        watch_folder(svc.importer, Path(settings.import_dir), settings.import_poll_seconds,
                     stop)
    app.state.ready = True
