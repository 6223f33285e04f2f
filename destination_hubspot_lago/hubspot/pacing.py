"""One request budget for every thread of a sync, learned from HubSpot's own headers.

HubSpot's burst limit is a rolling window per app: ``X-HubSpot-RateLimit-Max`` requests
per ``X-HubSpot-RateLimit-Interval-Milliseconds`` (100 or 190 or 250 per 10 s depending
on the plan). We start at the lowest tier, learn the real figure from the first answers,
cap it by the user's ``max_requests_per_10_seconds``, and keep a small headroom because
HubSpot counts arrivals while we count departures. The sliding window itself is
``pyrate_limiter``'s; this module only decides its size and pauses it after a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate

DEFAULT_MAX = 100  # the lowest published burst tier (free/starter, OAuth apps)
DEFAULT_INTERVAL_MS = 10_000
HEADROOM = 0.97  # fraction of HubSpot's window we use; the rest absorbs arrival jitter
PENALTY = 0.97  # after a 429 anyway, use this much less (someone else shares the budget)
MIN_SHARE = 0.5
RECOVERY_SECONDS = 60.0  # a minute without 429 gives back one step of the share


class Pacer:
    """Blocks callers just long enough to stay under the burst budget. Thread-safe."""

    def __init__(self, cap_per_10_seconds: int | None = None) -> None:
        self._cap = cap_per_10_seconds
        self._hubspot_max = DEFAULT_MAX
        self._interval_ms = DEFAULT_INTERVAL_MS
        self._share = 1.0  # lowered by each 429: the budget is evidently shared or jittery
        self._last_penalty = 0.0
        self._last_recovery = 0.0
        self._paused_until = 0.0
        self._pause_lock = threading.Lock()
        self._bucket = InMemoryBucket([self._rate()])
        # max_delay: a caller may wait up to a whole window for a free slot.
        self._limiter = Limiter(self._bucket, raise_when_fail=False, max_delay=Duration.MINUTE)

    # -- what the budget is -----------------------------------------------------------

    @property
    def budget(self) -> tuple[int, int]:
        """(requests, interval in ms) we currently allow ourselves."""
        rate = self._rate()
        return rate.limit, rate.interval

    def _rate(self) -> Rate:
        allowed = max(1, int(self._hubspot_max * HEADROOM * self._share))
        if self._cap:
            allowed = min(allowed, max(1, self._cap * self._interval_ms // 10_000))
        return Rate(allowed, self._interval_ms)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the portal's window from a response (headers may be absent: search, errors)."""
        try:
            hubspot_max = int(headers.get("X-HubSpot-RateLimit-Max", "") or 0)
            interval = int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "") or 0)
        except ValueError:
            return
        if hubspot_max <= 0 or interval <= 0:
            return
        self._recover()
        if (hubspot_max, interval) == (self._hubspot_max, self._interval_ms):
            return
        with self._limiter.lock:
            self._hubspot_max, self._interval_ms = hubspot_max, interval
            # Resize the window in place: a new bucket would forget the requests just made.
            self._bucket.rates = [self._rate()]

    # -- waiting -----------------------------------------------------------------------

    def acquire(self) -> None:
        """Wait until one more request fits in the budget."""
        while True:
            wait = self._paused_until - time.monotonic()
            if wait <= 0:
                break
            time.sleep(wait)
        while not self._limiter.try_acquire("hubspot"):
            time.sleep(0.05)  # pragma: no cover - only if the limiter could not fit the item

    def pause(self, seconds: float) -> None:
        """Stop every thread for ``seconds`` (after a 429 the whole app is over budget)."""
        with self._pause_lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def back_off(self, seconds: float) -> None:
        """A 429 despite pacing: pause everyone briefly and use a smaller share for a while.

        Several threads seeing the same full window count as one penalty."""
        self.pause(seconds)
        now = time.monotonic()
        with self._limiter.lock:
            if now - self._last_penalty < seconds:
                return
            self._last_penalty = now
            self._share = max(MIN_SHARE, self._share * PENALTY)
            self._bucket.rates = [self._rate()]

    def _recover(self) -> None:
        if self._share >= 1.0:
            return
        now = time.monotonic()
        if now - max(self._last_penalty, self._last_recovery) < RECOVERY_SECONDS:
            return
        with self._limiter.lock:
            self._last_recovery = now
            self._share = min(1.0, self._share / PENALTY)
            self._bucket.rates = [self._rate()]
