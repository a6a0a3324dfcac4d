"""Passwords (argon2id), signed session cookies with a CSRF token, login rate limiting, the
client's address behind trusted proxies, and the bounded pools that keep slow work (password
hashing, imports) off the event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from mibgscore.errors import BusyError

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
    """Failed logins allowed per ``window_seconds``: ``limit`` for one user name (from any
    address), and ``address_limit`` for one client address (whatever user names it tries, so
    that spraying many names is throttled too)."""

    def __init__(self, limit: int = 5, window_seconds: float = 60.0,
                 address_limit: int | None = None) -> None:
        self.limit = limit
        self.address_limit = address_limit if address_limit is not None else 4 * limit
        self.window = window_seconds
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(self, address: str, username: str) -> tuple[tuple[tuple[str, str], int], ...]:
        return ((("user", username.lower()), self.limit),
                (("address", address), self.address_limit))

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails.get(key) or deque()
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked_for(self, address: str, username: str) -> float:
        """Seconds until the next attempt is allowed (0: allowed now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key, limit in self._keys(address, username):
                q = self._recent(key, now)
                if len(q) >= limit:
                    wait = max(wait, self.window - (now - q[-limit]))
        return max(0.0, wait)

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key, _ in self._keys(address, username):
                q = self._recent(key, now)
                q.append(now)
                self._fails[key] = q
            if len(self._fails) > 100_000:  # many names tried: forget the stale ones
                for key in [k for k, q in self._fails.items() if not self._recent(k, now)]:
                    del self._fails[key]

    def succeeded(self, address: str, username: str) -> None:
        """A good password clears the user name's failures (not the address's)."""
        with self._lock:
            self._fails.pop(("user", username.lower()), None)


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: Sequence[str]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last
    address of ``X-Forwarded-For`` that is not itself a trusted proxy.

    ``trusted`` holds addresses or networks (``127.0.0.1``, ``10.0.0.0/8``); empty (the
    default of `mibgscore serve`): the header is never believed.
    """
    peer = peer or "?"
    if not trusted or not forwarded_for or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer


def _in(address: str, networks: Sequence[str]) -> bool:
    if "*" in networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address in networks
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


T = TypeVar("T")


class BoundedPool:
    """Blocking work run off the event loop in ``workers`` threads, with at most ``queue``
    more waiting; beyond that, BusyError (HTTP 503 with Retry-After) at once."""

    def __init__(self, workers: int, queue: int, name: str,
                 retry_after_seconds: int = 5) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(workers + queue)
        self.retry_after = retry_after_seconds
        self.name = name

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread; BusyError when the queue is full."""
        if not self._slots.acquire(blocking=False):
            raise BusyError(f"the server is busy ({self.name}); try again in "
                            f"{self.retry_after} seconds.", self.retry_after)
        try:
            fut = self._pool.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        fut.add_done_callback(lambda _f: self._slots.release())
        return await asyncio.wrap_future(fut)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
