"""Log in, log out, and the logged-in user's own settings."""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select

from mibgscore.app.db import User
from mibgscore.app.i18n import translator
from mibgscore.app.routes.deps import (
    CSRF_MESSAGE,
    csrf_ok,
    current_user,
    page,
    services,
    session_of,
)
from mibgscore.app.security import (
    BoundedPool,
    SessionData,
    client_address,
    dummy_verify,
    new_csrf,
    verify_password,
)
from mibgscore.app.users import set_language, set_password
from mibgscore.errors import ServiceError

logger = logging.getLogger(__name__)

router = APIRouter()


class LanguageIn(BaseModel):
    language: str


@router.get("/", include_in_schema=False)
def home(request: Request):
    return RedirectResponse("/worklist" if session_of(request).user_id else "/login",
                            status_code=303)


@router.get("/login", include_in_schema=False, response_class=HTMLResponse)
def login_page(request: Request):
    return page(request, "login.html", None, error=None)


@router.post("/login", include_in_schema=False)
async def login(request: Request):
    form = await request.form(max_files=0, max_fields=5)
    if not csrf_ok(request, str(form.get("csrf_token", ""))):
        return JSONResponse({"detail": CSRF_MESSAGE, "code": "csrf"}, status_code=403)
    username = str(form.get("username", ""))[:80].strip()
    password = str(form.get("password", ""))[:1024]
    svc = services(request)
    address = client_address(request.client.host if request.client else None,
                             request.headers.get("x-forwarded-for"),
                             svc.settings.forwarded_allow_ips)
    t = translator("en")
    wait = svc.limiter.blocked_for(address, username)
    if wait > 0:
        resp = page(request, "login.html", None, error=t("login_blocked", seconds=int(wait) + 1))
        resp.status_code = 429
        resp.headers["Retry-After"] = str(int(wait) + 1)
        return resp
    # argon2 takes ~0.1-0.3 s of CPU: in the bounded hashing pool, never on the event loop
    user, ok = await hash_pool(request).run(_check_password, svc, username, password)
    if not ok:
        svc.limiter.failed(address, username)
        logger.info("failed login")
        resp = page(request, "login.html", None, error=t("login_failed"))
        resp.status_code = 401
        return resp
    svc.limiter.succeeded(address, username)
    request.state.new_session = SessionData(user.id, new_csrf(), user.session_epoch)
    return RedirectResponse("/worklist", status_code=303)


def _check_password(svc, username: str, password: str) -> tuple[User | None, bool]:
    """The user and whether the password is theirs (an unknown name takes as long)."""
    with svc.store.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        ok = (verify_password(user.password_hash, password) if user and user.active
              else dummy_verify(password) or False)
        if user is not None:
            s.expunge(user)
    return user, bool(ok)


_pool_lock = threading.Lock()


def hash_pool(request: Request) -> BoundedPool:
    """The application's password-hashing pool (made on first use, sized by the settings)."""
    state = request.app.state
    with _pool_lock:
        pool = getattr(state, "hash_pool", None)
        if pool is None:
            settings = services(request).settings
            pool = BoundedPool(settings.hash_workers, settings.hash_queue, "password checks")
            state.hash_pool = pool
    return pool


class PasswordIn(BaseModel):
    current: str
    new: str


@router.put("/api/me/password", tags=["users"])
async def put_password(request: Request, body: PasswordIn,
                       user: User = Depends(current_user)) -> dict:
    """Change the logged-in user's password; every session of the user ends but this one
    (which gets a fresh cookie)."""
    svc = services(request)
    if len(body.new) < 8 or len(body.new) > 1024:
        raise ServiceError("a password needs 8 to 1024 characters.")
    _, ok = await hash_pool(request).run(_check_password, svc, user.username,
                                         body.current[:1024])
    if not ok:
        raise ServiceError("the current password is wrong.", 403, "password")
    epoch = await hash_pool(request).run(set_password, svc.store, user.id, body.new)
    request.state.new_session = SessionData(user.id, new_csrf(), epoch)
    return {"ok": True}


@router.post("/logout", include_in_schema=False)
def logout(request: Request):
    """End the session, and every other session of the same user."""
    sess = session_of(request)
    if sess.user_id is not None:
        with services(request).store.session() as s, s.begin():
            user = s.get(User, sess.user_id)
            if user is not None and user.session_epoch == sess.epoch:
                user.session_epoch += 1
    request.state.new_session = SessionData(None, new_csrf())
    return JSONResponse({"ok": True})


@router.get("/api/me", tags=["users"])
def me(request: Request, user: User = Depends(current_user)) -> dict:
    """The logged-in user, and the CSRF token to send in the X-CSRF-Token header."""
    return {"username": user.username, "role": user.role, "language": user.language,
            "csrf": session_of(request).csrf}


@router.put("/api/me/language", tags=["users"])
def put_language(request: Request, body: LanguageIn, user: User = Depends(current_user)
                 ) -> dict:
    """Choose the interface language (en or fr) of the logged-in user."""
    set_language(services(request).store, user.id, body.language)
    return {"language": body.language}
