"""Readers and administrators: accounts, roles, interface language."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mibgscore.app.db import User
from mibgscore.app.i18n import LANGUAGES
from mibgscore.app.security import ROLES, hash_password
from mibgscore.app.storage import Store
from mibgscore.errors import ServiceError


def add_user(store: Store, username: str, password: str, role: str = "reader",
             language: str = "en") -> User:
    """Create a user (or reset the password, role and language of an existing one)."""
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise ServiceError("a user name is 1-80 characters without spaces.")
    if role not in ROLES:
        raise ServiceError(f"role {role!r} is not one of {', '.join(ROLES)}.")
    if len(password) < 8:
        raise ServiceError("a password needs at least 8 characters.")
    _check_language(language)
    with store.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, password_hash=hash_password(password), role=role,
                        language=language)
            s.add(user)
        else:
            user.password_hash = hash_password(password)
            user.role = role
            user.language = language
            user.active = True
            user.session_epoch += 1  # a reset password ends every session of the user
        s.flush()
        s.expunge(user)
    return user


def set_password(store: Store, user_id: int, password: str) -> int:
    """Give a user a new password and end all their sessions; return the new session epoch
    (for the session that made the change, which stays)."""
    if len(password) < 8:
        raise ServiceError("a password needs at least 8 characters.")
    with store.session() as s, s.begin():
        user = s.get(User, user_id)
        if user is None:
            raise ServiceError("no such user.", 404, "not_found")
        user.password_hash = hash_password(password)
        user.session_epoch += 1
        return int(user.session_epoch)


def set_language(store: Store, user_id: int, language: str) -> None:
    """Choose the interface language (``en`` or ``fr``) of one user."""
    _check_language(language)
    with store.session() as s, s.begin():
        s.get(User, user_id).language = language


def list_users(store: Store, *, order_by: str = "id") -> list[dict]:
    """Every user: name, role, language, whether active."""
    column = User.username if order_by == "username" else User.id
    with store.session() as s:
        return [{"username": u.username, "role": u.role, "language": u.language,
                 "active": u.active} for u in s.scalars(select(User).order_by(column))]


def user_names(s: Session) -> dict[int, str]:
    """User name by user id."""
    return {u.id: u.username for u in s.scalars(select(User))}


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ServiceError("language must be en or fr.")
