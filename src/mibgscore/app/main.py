"""The FastAPI application: pages, JSON API, sessions, CSRF, and the background scoring queue."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select

from mibgscore import __version__
from mibgscore.app import service
from mibgscore.app.db import STATUSES, Study, User, init_db, make_engine, make_sessionmaker
from mibgscore.app.i18n import LANGUAGES, segment_name, translator
from mibgscore.app.security import (
    CSRF_HEADER,
    SESSION_COOKIE,
    LoginLimiter,
    SessionData,
    SessionSigner,
    dummy_verify,
    new_csrf,
    same_token,
    verify_password,
)
from mibgscore.app.service import ServiceError, Store
from mibgscore.app.settings import AppSettings

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class NotLoggedIn(Exception):
    """Raised by the user dependency: pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    """The user's role does not allow this."""


# --- request bodies ------------------------------------------------------------------------

class GradeIn(BaseModel):
    scheme: str = "siopen"
    segment: str
    grade: int
    version: int


class VersionIn(BaseModel):
    version: int


class ImpressionIn(BaseModel):
    text: str = Field(max_length=10000)
    version: int


class AmendIn(BaseModel):
    reason: str = Field(max_length=2000)
    version: int


class LanguageIn(BaseModel):
    language: str


class UserIn(BaseModel):
    username: str
    password: str
    role: str = "reader"
    language: str = "en"


def create_app(settings: AppSettings, *, scorer: Callable | None = None) -> FastAPI:
    """The web application for ``settings`` (database created or migrated at start).

    Parameters
    ----------
    settings : AppSettings
        Data folder, database URL, limits.
    scorer : callable, optional
        ``scorer(scan) -> ScoreResult``; ``mibgscore.pipeline.score`` by default.
    """
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    settings.studies_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    init_db(engine)
    store = Store(settings, make_sessionmaker(engine))
    signer = SessionSigner(settings.secret_key(), settings.session_hours * 3600)
    limiter = LoginLimiter(settings.login_failures_per_minute, 60.0)
    queue = service.ScoringQueue(store, scorer)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    stop = threading.Event()

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        start_background()
        yield
        stop.set()
        queue.stop()

    app = FastAPI(title="mibgscore", version=__version__, lifespan=lifespan,
                  description="Reading of 123I-MIBG whole-body scans: worklist, automatic "
                              "SIOPEN and Curie scores, corrections, sign-off, follow-up, "
                              "exports. Research use only.",
                  docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.queue = queue
    app.state.settings = settings
    app.state.ready = False
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    from starlette.middleware.gzip import GZipMiddleware

    app.add_middleware(GZipMiddleware, minimum_size=4096)

    def start_background() -> None:
        if settings.score_in_background:
            queue.start()
        with store.session() as s:
            pending = [st.id for st in s.scalars(select(Study).where(
                Study.status.in_(("new", "scoring"))))]
        for sid in pending:
            submit(sid)
        if settings.import_dir is not None:
            threading.Thread(target=watch_folder, name="mibgscore-import", daemon=True).start()
        app.state.ready = True

    def submit(study_id: int) -> None:
        if settings.score_in_background:
            queue.submit(study_id)
        else:
            service.score_study(store, study_id, scorer)

    app.state.submit = submit

    def watch_folder() -> None:
        folder = Path(settings.import_dir)
        done = folder / "imported"
        failed = folder / "failed"
        while not stop.wait(settings.import_poll_seconds):
            try:
                files = [p for p in folder.iterdir() if p.is_file()
                         and not p.name.startswith(".")
                         and time.time() - p.stat().st_mtime > 2.0]
                if not files:
                    continue
                report = import_paths([(p.name, p) for p in files], None, keep=True)
                target = failed if report.errors and not report.imported else done
                target.mkdir(exist_ok=True)
                for p in files:
                    p.replace(target / p.name)
                logger.info("import folder: %d imported, %d refused", len(report.imported),
                            len(report.errors))
            except Exception:  # the watcher must keep running
                logger.exception("import folder scan failed")

    def import_paths(files: list[tuple[str, Path]], user_id: int | None, *, keep: bool = False
                     ) -> service.ImportReport:
        with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
            work = Path(tmp)
            if keep:  # copy, so that the originals can be moved afterwards
                import shutil

                copies = []
                for i, (name, p) in enumerate(files):
                    c = work / f"in{i:05d}"
                    shutil.copyfile(p, c)
                    copies.append((name, c))
                files = copies
            unpacked = work / "unpacked"
            unpacked.mkdir()
            paths, errors = service.unpack_upload(
                files, unpacked, max_bytes=int(settings.max_upload_mb * 2**20),
                max_zip_files=settings.max_zip_files)
            report = service.import_files(store, paths, user_id) if paths else \
                service.ImportReport()
            report.errors = errors + report.errors
        for sid in report.imported:
            submit(sid)
        return report

    app.state.import_paths = import_paths

    # --- sessions, CSRF, headers, logging --------------------------------------------------
    @app.middleware("http")
    async def session_middleware(request: Request, call_next):
        t0 = time.perf_counter()
        sess = signer.loads(request.cookies.get(SESSION_COOKIE))
        fresh = sess is None
        if sess is None:
            sess = SessionData(None, new_csrf())
        request.state.session = sess
        request.state.new_session = None
        path = request.url.path
        if request.method not in SAFE_METHODS and path != "/login":
            if not same_token(request.headers.get(CSRF_HEADER), sess.csrf):
                response: Response = JSONResponse(
                    {"detail": "missing or wrong CSRF token; reload the page.",
                     "code": "csrf"}, status_code=403)
                return _finish(request, response, fresh, sess, t0)
        response = await call_next(request)
        return _finish(request, response, fresh, sess, t0)

    def _finish(request: Request, response: Response, fresh: bool, sess: SessionData,
                t0: float) -> Response:
        new = getattr(request.state, "new_session", None)
        if new is not None or fresh:
            data = new if new is not None else sess
            response.set_cookie(SESSION_COOKIE, signer.dumps(data), httponly=True,
                                samesite="strict", secure=settings.secure_cookies,
                                max_age=int(settings.session_hours * 3600), path="/")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        # route path only: no query string (searches may hold patient names)
        route = request.scope.get("route")
        logger.debug("%s %s %d %.0f ms", request.method,
                    getattr(route, "path", "(no route)"), response.status_code,
                    1000 * (time.perf_counter() - t0))
        return response

    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, _exc: NotLoggedIn):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first.", "code": "login"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, _exc: Forbidden):
        return JSONResponse({"detail": "your role does not allow this.", "code": "role"},
                            status_code=403)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("loc", ("",))[0] == "path" for e in errors):  # no such route
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return JSONResponse({"detail": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                 for e in errors), "code": "invalid"},
                            status_code=422)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError):
        return JSONResponse({"detail": exc.message, "code": exc.code, **exc.extra},
                            status_code=exc.status)

    def current_user(request: Request) -> User:
        sess: SessionData = request.state.session
        if sess.user_id is None:
            raise NotLoggedIn()
        with store.session() as s:
            user = s.get(User, sess.user_id)
            if user is None or not user.active or user.session_epoch != sess.epoch:
                raise NotLoggedIn()
            s.expunge(user)
        return user

    def admin_user(user: User = Depends(current_user)) -> User:
        if user.role != "admin":
            raise Forbidden()
        return user

    def page(request: Request, name: str, user: User | None, **ctx: Any) -> HTMLResponse:
        lang = user.language if user else "en"
        base = {"t": translator(lang), "lang": lang, "user": user, "version": __version__,
                "csrf": request.state.session.csrf, "languages": LANGUAGES}
        base.update(ctx)
        return templates.TemplateResponse(request, name, base)

    # --- pages -----------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        sess: SessionData = request.state.session
        return RedirectResponse("/worklist" if sess.user_id else "/login", status_code=303)

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    def login_page(request: Request):
        return page(request, "login.html", None, error=None)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form(max_files=0, max_fields=5)
        sess: SessionData = request.state.session
        if not same_token(str(form.get("csrf_token", "")), sess.csrf):
            return JSONResponse({"detail": "missing or wrong CSRF token; reload the page.",
                                 "code": "csrf"}, status_code=403)
        username = str(form.get("username", ""))[:80].strip()
        password = str(form.get("password", ""))[:1024]
        address = request.client.host if request.client else "?"
        t = translator("en")
        wait = limiter.blocked_for(address, username)
        if wait > 0:
            resp = page(request, "login.html", None,
                        error=t("login_blocked", seconds=int(wait) + 1))
            resp.status_code = 429
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        with store.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            ok = (verify_password(user.password_hash, password) if user and user.active
                  else dummy_verify(password) or False)
            if user is not None:
                s.expunge(user)
        if not ok:
            limiter.failed(address, username)
            logger.info("failed login")
            resp = page(request, "login.html", None, error=t("login_failed"))
            resp.status_code = 401
            return resp
        limiter.succeeded(address, username)
        request.state.new_session = SessionData(user.id, new_csrf(), user.session_epoch)
        return RedirectResponse("/worklist", status_code=303)

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request):
        """End the session, and every other session of the same user."""
        sess: SessionData = request.state.session
        if sess.user_id is not None:
            with store.session() as s, s.begin():
                user = s.get(User, sess.user_id)
                if user is not None and user.session_epoch == sess.epoch:
                    user.session_epoch += 1
        request.state.new_session = SessionData(None, new_csrf())
        return JSONResponse({"ok": True})

    @app.get("/worklist", include_in_schema=False, response_class=HTMLResponse)
    def worklist_page(request: Request, user: User = Depends(current_user)):
        t = translator(user.language)
        return page(request, "worklist.html", user, statuses=STATUSES,
                    status_words={s: t("status_" + s) for s in STATUSES})

    def scheme_rows(lang: str) -> dict[str, list[dict[str, str]]]:
        from mibgscore.anatomy.scheme import load_scheme

        out = {}
        for name in ("siopen", "curie"):
            sch = load_scheme(name)
            out[name] = [{"key": seg.key, "name": segment_name(seg.key, seg.name, lang)}
                         for seg in sch.segments]
        return out

    def boot(request: Request, user: User, **extra: Any) -> dict[str, Any]:
        t = translator(user.language)
        from mibgscore.app.i18n import EN

        return {"csrf": request.state.session.csrf, "user": user.username, "role": user.role,
                "lang": user.language, "schemes": scheme_rows(user.language),
                "words": {k: t(k) for k in EN}, **extra}

    @app.get("/studies/{study_id}", include_in_schema=False, response_class=HTMLResponse)
    def reading_page(request: Request, study_id: int, user: User = Depends(current_user)):
        data = service.reading(store, study_id)
        return page(request, "reading.html", user, study=data,
                    boot=boot(request, user, study_id=study_id))

    @app.get("/studies/{study_id}/followup", include_in_schema=False,
             response_class=HTMLResponse)
    def followup_page(request: Request, study_id: int, user: User = Depends(current_user)):
        data = service.reading(store, study_id)
        try:
            comp = service.followup(store, study_id)
        except ServiceError as exc:
            comp = None
            error = exc.message
        else:
            error = None
        names = {r["key"]: r["name"] for r in scheme_rows(user.language)["siopen"]}
        return page(request, "followup.html", user, study=data, comp=comp, error=error,
                    names=names,
                    boot=boot(request, user, study_id=study_id,
                              prior_id=comp["prior"]["id"] if comp else None))

    @app.get("/admin/users", include_in_schema=False, response_class=HTMLResponse)
    def users_page(request: Request, user: User = Depends(admin_user)):
        with store.session() as s:
            users = [{"username": u.username, "role": u.role, "language": u.language}
                     for u in s.scalars(select(User).order_by(User.username))]
        return page(request, "users.html", user, users=users)

    # --- API -------------------------------------------------------------------------------
    @app.get("/api/health", tags=["system"])
    def health() -> JSONResponse:
        """200 once the database is ready and background work has started."""
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        with store.session() as s:
            s.execute(select(1))
        return JSONResponse({"status": "ok", "version": __version__,
                             "scoring_idle": queue.idle()})

    @app.get("/api/me", tags=["users"])
    def me(request: Request, user: User = Depends(current_user)) -> dict:
        """The logged-in user, and the CSRF token to send in the X-CSRF-Token header."""
        return {"username": user.username, "role": user.role, "language": user.language,
                "csrf": request.state.session.csrf}

    @app.put("/api/me/language", tags=["users"])
    def set_language(body: LanguageIn, user: User = Depends(current_user)) -> dict:
        """Choose the interface language (en or fr) of the logged-in user."""
        if body.language not in LANGUAGES:
            raise ServiceError("language must be en or fr.")
        with store.session() as s, s.begin():
            s.get(User, user.id).language = body.language
        return {"language": body.language}

    @app.get("/api/users", tags=["users"])
    def list_users(_admin: User = Depends(admin_user)) -> list[dict]:
        """All users (admin)."""
        with store.session() as s:
            return [{"username": u.username, "role": u.role, "language": u.language,
                     "active": u.active} for u in s.scalars(select(User).order_by(User.id))]

    @app.post("/api/users", tags=["users"], status_code=201)
    def create_user(body: UserIn, _admin: User = Depends(admin_user)) -> dict:
        """Create a user or reset one's password (admin)."""
        u = service.add_user(store, body.username, body.password, body.role, body.language)
        return {"username": u.username, "role": u.role}

    @app.get("/api/studies", tags=["studies"])
    def list_studies(q: str = "", status: str = "", _user: User = Depends(current_user)
                     ) -> list[dict]:
        """The worklist; ``q`` searches patient ID, name, description and date."""
        rows = service.worklist(store, q=q, status=status)
        for r in rows:
            r["progress"] = queue.progress(r["id"])
        return rows

    @app.post("/api/studies/upload", tags=["studies"])
    async def upload(request: Request, user: User = Depends(current_user)) -> dict:
        """Import DICOM files or zips (multipart field ``files``); scoring starts in background."""
        limit = int(settings.max_upload_mb * 2**20)
        length = request.headers.get("content-length")
        if length is None:
            raise ServiceError("uploads need a Content-Length.", 411, "length")
        if int(length) > limit + 65536:
            raise ServiceError(f"the upload is {int(length) / 2**20:.0f} MiB; the limit is "
                               f"{settings.max_upload_mb:.0f} MiB.", 413, "too_large")
        form = await request.form(max_files=5000, max_fields=10)
        items = [f for f in form.getlist("files") if hasattr(f, "filename")]
        if not items:
            raise ServiceError("no files in the upload (field 'files').")
        with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
            files = []
            total = 0
            for i, f in enumerate(items):
                p = Path(tmp) / f"up{i:05d}"
                with p.open("wb") as out:
                    while chunk := await f.read(1 << 20):
                        total += len(chunk)
                        if total > limit:
                            raise ServiceError(f"the upload is over the limit of "
                                               f"{settings.max_upload_mb:.0f} MiB.", 413,
                                               "too_large")
                        out.write(chunk)
                name = Path(f.filename or f"file{i}").name
                files.append((name, p))
            report = import_paths(files, user.id)
        await form.close()
        logger.info("upload: %d imported, %d duplicates, %d refused", len(report.imported),
                    len(report.duplicates), len(report.errors))
        return report.to_dict()

    @app.get("/api/studies/{study_id}", tags=["studies"])
    def get_study(study_id: int, _user: User = Depends(current_user)) -> dict:
        """One study's reading: header, automatic and final grades, lesions, history."""
        out = service.reading(store, study_id)
        out["progress"] = queue.progress(study_id)
        return out

    @app.delete("/api/studies/{study_id}", tags=["studies"])
    def remove_study(study_id: int, admin: User = Depends(admin_user)) -> dict:
        """Delete a study with its files and history (admin)."""
        service.delete_study(store, study_id, admin.id)
        return {"deleted": study_id}

    @app.get("/api/studies/{study_id}/views/{view}", tags=["viewer"])
    def view_pixels(study_id: int, view: str, _user: User = Depends(current_user)) -> Response:
        """One view as raw little-endian float32 counts, (rows, cols) row-major, in the
        anterior orientation (the posterior view mirrored: patient's right on the left)."""
        if view not in ("anterior", "posterior"):
            raise ServiceError("view is anterior or posterior.", 404, "not_found")
        arr = service.view_pixels(store, study_id, view)
        return Response(arr.tobytes(), media_type="application/octet-stream",
                        headers={"X-Rows": str(arr.shape[0]), "X-Cols": str(arr.shape[1])})

    @app.get("/api/studies/{study_id}/maps/{name}", tags=["viewer"])
    def map_pixels(study_id: int, name: str, _user: User = Depends(current_user)) -> Response:
        """``siopen_map``, ``curie_map`` or ``lesion_mask`` as raw uint8, anterior frame."""
        if name not in ("siopen_map", "curie_map", "lesion_mask"):
            raise ServiceError("no such map.", 404, "not_found")
        arr = service.map_pixels(store, study_id, name)
        return Response(arr.tobytes(), media_type="application/octet-stream",
                        headers={"X-Rows": str(arr.shape[0]), "X-Cols": str(arr.shape[1])})

    @app.put("/api/studies/{study_id}/grades", tags=["reading"])
    def put_grade(study_id: int, body: GradeIn, user: User = Depends(current_user)) -> dict:
        """Set one segment's grade; ``version`` must be the study's current version (else
        409)."""
        return service.set_grade(store, study_id, user.id, scheme=body.scheme,
                                 segment=body.segment, grade=body.grade, version=body.version)

    @app.post("/api/studies/{study_id}/accept-all", tags=["reading"])
    def post_accept_all(study_id: int, body: VersionIn, user: User = Depends(current_user)
                        ) -> dict:
        """Make every final grade the automatic one."""
        return service.accept_all(store, study_id, user.id, version=body.version)

    @app.put("/api/studies/{study_id}/impression", tags=["reading"])
    def put_impression(study_id: int, body: ImpressionIn, user: User = Depends(current_user)
                       ) -> dict:
        """Save the free-text impression."""
        return service.set_impression(store, study_id, user.id, text=body.text,
                                      version=body.version)

    @app.post("/api/studies/{study_id}/sign", tags=["reading"])
    def post_sign(study_id: int, body: VersionIn, user: User = Depends(current_user)) -> dict:
        """Sign the reading (it is then locked)."""
        return service.sign(store, study_id, user.id, version=body.version)

    @app.post("/api/studies/{study_id}/amend", tags=["reading"])
    def post_amend(study_id: int, body: AmendIn, user: User = Depends(current_user)) -> dict:
        """Reopen a signed reading for an amendment, with a reason."""
        return service.amend(store, study_id, user.id, reason=body.reason, version=body.version)

    @app.get("/api/studies/{study_id}/followup", tags=["reading"])
    def get_followup(study_id: int, _user: User = Depends(current_user)) -> dict:
        """Comparison with the patient's prior study: change per segment, response."""
        return service.followup(store, study_id)

    @app.get("/api/studies/{study_id}/report.pdf", tags=["exports"])
    def report_pdf(study_id: int, user: User = Depends(current_user)) -> Response:
        """The reading as a PDF report."""
        from mibgscore.app import exports

        pdf, name = exports.pdf(store, study_id, user.language)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/api/studies/{study_id}/sr.dcm", tags=["exports"])
    def report_sr(study_id: int, user: User = Depends(current_user)) -> Response:
        """The reading as a DICOM Comprehensive SR (TID 1500)."""
        from mibgscore.app import exports

        data, name = exports.dicom(store, study_id, "sr", user.language)
        return Response(data, media_type="application/dicom",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/api/studies/{study_id}/report.dcm", tags=["exports"])
    def report_epdf(study_id: int, user: User = Depends(current_user)) -> Response:
        """The PDF report as a DICOM Encapsulated PDF."""
        from mibgscore.app import exports

        data, name = exports.dicom(store, study_id, "pdf", user.language)
        return Response(data, media_type="application/dicom",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/api/readings.csv", tags=["exports"])
    def readings_csv(_user: User = Depends(current_user)) -> Response:
        """All readings: automatic and final grades per segment, status, reader."""
        return Response(service.readings_csv(store), media_type="text/csv",
                        headers={"Content-Disposition":
                                 'attachment; filename="mibgscore-readings.csv"'})

    return app
