"""Passwords (argon2id), signed session cookies with a CSRF token, and login rate limiting."""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "mibgscore_session"
CSRF_HEADER = "X-CSRF-Token"
ROLES = ("reader", "admin")

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (with its salt and parameters)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = None


def dummy_verify(password: str) -> None:
    """Spend the time of one verification (unknown user names answer as slowly as known ones)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_hex(8))
    verify_password(_DUMMY_HASH, password)


@dataclass(frozen=True)
class SessionData:
    """What the session cookie carries: the user (None before login), the CSRF token, and the
    user's session epoch at login (logging out raises it, which ends every older session)."""

    user_id: int | None
    csrf: str
    epoch: int = 0


class SessionSigner:
    """Signs and checks session cookies (itsdangerous, with an expiry)."""

    def __init__(self, secret: str, max_age_seconds: float) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="mibgscore-session")
        self.max_age = int(max_age_seconds)

    def dumps(self, data: SessionData) -> str:
        return self._s.dumps({"u": data.user_id, "c": data.csrf, "e": data.epoch})

    def loads(self, token: str | None) -> SessionData | None:
        if not token:
            return None
        try:
            raw = self._s.loads(token, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("c"), str):
            return None
        uid = raw.get("u")
        epoch = raw.get("e")
        return SessionData(uid if isinstance(uid, int) else None, raw["c"],
                           epoch if isinstance(epoch, int) else 0)


def new_csrf() -> str:
    """A fresh CSRF token."""
    return secrets.token_urlsafe(24)


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))


class LoginLimiter:
    """At most ``limit`` failed logins per ``window_seconds`` for one (address, user name)."""

    def __init__(self, limit: int = 5, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked_for(self, address: str, username: str) -> float:
        """Seconds until the next attempt is allowed (0: allowed now)."""
        key = (address, username.lower())
        now = time.monotonic()
        with self._lock:
            q = self._prune(key, now)
            if len(q) < self.limit:
                return 0.0
            return max(0.0, self.window - (now - q[0]))

    def failed(self, address: str, username: str) -> None:
        key = (address, username.lower())
        with self._lock:
            self._prune(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._fails.pop((address, username.lower()), None)
