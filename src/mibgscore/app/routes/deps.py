"""What every route shares: the service objects, the logged-in user, CSRF, page rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from mibgscore import __version__
from mibgscore.app.db import User
from mibgscore.app.i18n import EN, LANGUAGES, segment_name, translator
from mibgscore.app.imports import Importer
from mibgscore.app.schemes import SCHEME_NAMES
from mibgscore.app.scoring import ScoringQueue
from mibgscore.app.security import LoginLimiter, SessionData, SessionSigner, same_token
from mibgscore.app.settings import AppSettings
from mibgscore.app.storage import Store

CSRF_MESSAGE = "missing or wrong CSRF token; reload the page."


class NotLoggedIn(Exception):
    """Raised by the user dependency: pages redirect to /login, the API answers 401."""


class Forbidden(Exception):
    """The user's role does not allow this."""


@dataclass
class Services:
    """The application's service objects, built once by ``create_app`` (``app.state.services``)."""

    settings: AppSettings
    store: Store
    queue: ScoringQueue
    importer: Importer
    submit: Callable[[int], None]
    templates: Jinja2Templates
    signer: SessionSigner
    limiter: LoginLimiter


def services(request: Request) -> Services:
    """Dependency: the application's service objects."""
    return request.app.state.services


def session_of(request: Request) -> SessionData:
    """The request's session (set by the session middleware: a fresh one when none came)."""
    return request.state.session


def csrf_ok(request: Request, token: str | None) -> bool:
    """Whether ``token`` is the session's CSRF token (the X-CSRF-Token header, or the login
    form's field)."""
    return same_token(token, session_of(request).csrf)


def current_user(request: Request) -> User:
    """Dependency: the logged-in user (NotLoggedIn when none, or the session was ended)."""
    sess = session_of(request)
    if sess.user_id is None:
        raise NotLoggedIn()
    with services(request).store.session() as s:
        user = s.get(User, sess.user_id)
        if user is None or not user.active or user.session_epoch != sess.epoch:
            raise NotLoggedIn()
        s.expunge(user)
    return user


def admin_user(user: User = Depends(current_user)) -> User:
    """Dependency: the logged-in user, who must be an administrator (else Forbidden)."""
    if user.role != "admin":
        raise Forbidden()
    return user


def page(request: Request, name: str, user: User | None, **ctx: Any) -> HTMLResponse:
    """Render template ``name`` in the user's language."""
    lang = user.language if user else "en"
    base = {"t": translator(lang), "lang": lang, "user": user, "version": __version__,
            "csrf": session_of(request).csrf, "languages": LANGUAGES}
    base.update(ctx)
    return services(request).templates.TemplateResponse(request, name, base)


def scheme_rows(request: Request, lang: str) -> dict[str, list[dict[str, str]]]:
    """The segments of the tables in use, key and name in ``lang``, in their order."""
    schemes = services(request).store.schemes
    return {name: [{"key": seg.key, "name": segment_name(seg.key, seg.name, lang)}
                   for seg in schemes[name].segments] for name in SCHEME_NAMES}


def boot(request: Request, user: User, **extra: Any) -> dict[str, Any]:
    """The data a page's script starts from (CSRF token, user, segment names, the highest grade
    of each table in use, words)."""
    t = translator(user.language)
    schemes = services(request).store.schemes
    return {"csrf": session_of(request).csrf, "user": user.username, "role": user.role,
            "lang": user.language, "schemes": scheme_rows(request, user.language),
            "max_grades": {name: schemes.max_grade(name) for name in SCHEME_NAMES},
            "words": {k: t(k) for k in EN}, **extra}
