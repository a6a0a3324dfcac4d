"""Around every request: the signed session cookie, the CSRF check, security headers, one
debug log line (route path only), and the answers to errors."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse

from mibgscore.app.routes.deps import CSRF_MESSAGE, Forbidden, NotLoggedIn, Services, csrf_ok
from mibgscore.app.security import CSRF_HEADER, SESSION_COOKIE, SessionData, new_csrf
from mibgscore.errors import BusyError, MibgscoreError, ServiceError

logger = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def add_session_middleware(app: FastAPI, svc: Services) -> None:
    """Sessions and CSRF: every state-changing request but the login form (which checks its
    own field) must carry the session's token in the X-CSRF-Token header."""

    @app.middleware("http")
    async def session_middleware(request: Request, call_next):
        t0 = time.perf_counter()
        if _huge_number(request.url.path):  # beyond any id the database can hold
            return JSONResponse({"detail": "no such item: the number in the address is too "
                                           "large.", "code": "not_found"}, status_code=404)
        sess = svc.signer.loads(request.cookies.get(SESSION_COOKIE))
        fresh = sess is None
        if sess is None:
            sess = SessionData(None, new_csrf())
        request.state.session = sess
        request.state.new_session = None
        if request.method not in SAFE_METHODS and request.url.path != "/login":
            if not csrf_ok(request, request.headers.get(CSRF_HEADER)):
                response: Response = JSONResponse({"detail": CSRF_MESSAGE, "code": "csrf"},
                                                  status_code=403)
                return _finish(svc, request, response, fresh, sess, t0)
        response = await call_next(request)
        return _finish(svc, request, response, fresh, sess, t0)


def _huge_number(path: str) -> bool:
    """Whether a part of the path is a whole number beyond a 64-bit database id."""
    return any(part.isdigit() and (len(part) > 19 or int(part) >= 2**63)
               for part in path.split("/"))


def _finish(svc: Services, request: Request, response: Response, fresh: bool,
            sess: SessionData, t0: float) -> Response:
    new = getattr(request.state, "new_session", None)
    if new is not None or fresh:
        data = new if new is not None else sess
        response.set_cookie(SESSION_COOKIE, svc.signer.dumps(data), httponly=True,
                            samesite="strict", secure=svc.settings.secure_cookies,
                            max_age=int(svc.settings.session_hours * 3600), path="/")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.url.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    # route path only: no query string (searches may hold patient names)
    route = request.scope.get("route")
    logger.debug("%s %s %d %.0f ms", request.method, getattr(route, "path", "(no route)"),
                 response.status_code, 1000 * (time.perf_counter() - t0))
    return response


def add_error_handlers(app: FastAPI) -> None:
    """Not logged in: pages redirect to /login, the API answers 401. Errors of the family:
    their sentence as JSON ``{"detail", "code"}``, with a ServiceError's status (else 400)."""

    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, _exc: NotLoggedIn):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first.", "code": "login"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, _exc: Forbidden):
        return JSONResponse({"detail": "your role does not allow this.", "code": "role"},
                            status_code=403)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("loc", ("",))[0] == "path" for e in errors):  # no such route
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return JSONResponse({"detail": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                 for e in errors), "code": "invalid"},
                            status_code=422)

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, _exc: OverflowError):
        return JSONResponse({"detail": "a number in the request is too large.",
                             "code": "invalid"}, status_code=400)

    @app.exception_handler(MibgscoreError)
    async def _error(_request: Request, exc: MibgscoreError):
        if isinstance(exc, BusyError):
            return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=503,
                                headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, ServiceError):
            return JSONResponse({"detail": exc.message, "code": exc.code, **exc.extra},
                                status_code=exc.status)
        return JSONResponse({"detail": str(exc), "code": "input"}, status_code=400)
