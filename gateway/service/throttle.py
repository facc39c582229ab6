"""Throttling of failed authentication, with bounded audit writes.

Failures are counted per client address and per credential prefix (the
first characters of a token or invitation code) in fixed windows of
``settings.auth_failure_window_seconds``. Once either has failed
``settings.auth_failure_limit`` times in its window, every attempt from it
is answered 429 with ``Retry-After`` until the window ends, before any
database lookup.

The audit log gets at most two records per burst, not one per request: the
first failure of a burst, with its reason, and one ``auth.throttle`` record
when the limit is reached. So no one can make the server write at will.
Counts live in the memory of each service process, at most ``MAX_KEYS``
keys (the oldest are forgotten first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gateway.config import Settings
from gateway.errors import AuthError, ServiceError
from gateway.service import audit
from gateway.service.audit import Actor
from gateway.service.transaction import transaction

MAX_KEYS = 50_000
PREFIX_CHARS = 10
"""As many characters of a credential as the token list shows (``gw_`` and seven more)."""

T = TypeVar("T")


class TooManyFailures(ServiceError):
    title = "Too many failed attempts"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "auth_throttled",
            "too many failed sign-in attempts; this address or credential is paused",
            hint=f"try again in {retry_after} seconds, with a valid token",
        )
        self.retry_after = retry_after


@dataclass
class _Burst:
    started: float
    failures: int = 0


class Throttle:
    """Failure counts per key, in fixed windows; thread-safe within one process."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = settings.auth_failure_limit
        self.window = settings.auth_failure_window_seconds
        self.clock = clock
        self._bursts: OrderedDict[str, _Burst] = OrderedDict()
        self._lock = threading.Lock()

    def keys(self, client: str | None, credential: str) -> tuple[str, ...]:
        return (f"address:{client or 'unknown'}", f"prefix:{credential[:PREFIX_CHARS]}")

    def check(self, keys: tuple[str, ...]) -> bool:
        """Raise ``TooManyFailures`` for a paused key; else whether a new burst would start."""
        now = self.clock()
        with self._lock:
            current = [b for k in keys if (b := self._live(k, now)) is not None]
        for burst in current:
            if burst.failures >= self.limit:
                raise TooManyFailures(max(1, round(burst.started + self.window - now)))
        return not current

    def fail(self, keys: tuple[str, ...]) -> bool:
        """Count a failure; whether it is the one that reached the limit."""
        now = self.clock()
        reached = False
        with self._lock:
            for key in keys:
                burst = self._live(key, now)
                if burst is None:
                    burst = self._bursts[key] = _Burst(started=now)
                    self._forget_oldest()
                burst.failures += 1
                reached |= burst.failures == self.limit
        return reached

    def _live(self, key: str, now: float) -> _Burst | None:
        burst = self._bursts.get(key)
        if burst is not None and now - burst.started >= self.window:
            del self._bursts[key]
            return None
        return burst

    def _forget_oldest(self) -> None:
        while len(self._bursts) > MAX_KEYS:
            self._bursts.popitem(last=False)


def guarded(
    throttle: Throttle,
    settings: Settings,
    client: str | None,
    credential: str,
    attempt: Callable[[bool], T],
) -> T:
    """``attempt(record_refusal)`` unless paused; its refusal counted, and audited per burst."""
    keys = throttle.keys(client, credential)
    first = throttle.check(keys)
    try:
        return attempt(first)
    except AuthError:
        if throttle.fail(keys):
            with transaction(settings) as s:
                audit.record(
                    s,
                    Actor("unknown", "none"),
                    "auth.throttle",
                    "client",
                    client,
                    outcome="denied",
                    failures=throttle.limit,
                    window_seconds=throttle.window,
                    prefix=credential[:PREFIX_CHARS],
                )
        raise
