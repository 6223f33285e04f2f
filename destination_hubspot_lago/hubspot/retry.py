"""The retry policy, readable in one place: what is retried, how long to wait, when to stop.

* 429 ten-secondly: back off with jitter (the client also pauses *all* threads once).
* 429 daily: never retried; the sync stops with a transient error naming the reset time.
* 423 (record locks): wait at least 2 s. 477 and any ``Retry-After``: honour it.
* 5xx, timeouts, dropped connections: exponential backoff with jitter. No answer at all
  is retried only when the transport judged it could heal (never a certificate that
  fails verification).
* 401 EXPIRED_AUTHENTICATION (OAuth): retry at once (the client has refreshed the token).
* Everything else (400, 401, 403, 404, 409 …) is returned to the caller as an error.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception

from .errors import ConnectionFailed, HubSpotError
from .pacing import Pacer

logger = logging.getLogger("airbyte")

RETRYABLE_STATUSES = frozenset({423, 429, 477, 500, 502, 503, 504, 521, 522, 523, 524})
MAX_RETRY_AFTER_SECONDS = 300.0  # beyond this, waiting inside one sync makes no sense
# Burst 429s mean the app's budget is shared with someone else: keep trying this long.
BURST_LIMIT_PATIENCE_SECONDS = 300.0


class RetryPolicy:
    def __init__(
        self,
        pacer: Pacer,
        *,
        oauth: bool = False,
        max_attempts: int = 8,
        max_backoff_seconds: float = 60.0,
    ) -> None:
        self.pacer = pacer
        self.oauth = oauth
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff_seconds
        self._rng = random.Random()

    def retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ConnectionFailed):
            return exc.retryable
        if not isinstance(exc, HubSpotError) or exc.is_daily_limit:
            return False
        if exc.is_expired_token:
            return self.oauth
        return exc.status in RETRYABLE_STATUSES

    def gives_up(self, exc: BaseException | None, attempt: int, elapsed: float) -> bool:
        """After ``max_attempts``, except on burst 429s: those get minutes, not tries."""
        if isinstance(exc, HubSpotError) and exc.is_burst_limit:
            return elapsed >= BURST_LIMIT_PATIENCE_SECONDS
        return attempt >= self.max_attempts

    def wait(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        jitter = 0.5 + self._rng.random() / 2  # "equal jitter": half fixed, half random
        if not isinstance(exc, HubSpotError):
            return 1.0
        if exc.is_expired_token:
            return 0.0
        if exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER_SECONDS)
        if exc.is_burst_limit:
            # One 429 despite pacing usually means the window is over by a call or two:
            # a second is enough. Repeated ones wait longer, up to a whole window.
            return min(2 ** (attempt - 1), self._burst_pause(exc), self.max_backoff) * jitter
        if exc.status == 423:
            return 2.0 + min(self.max_backoff, 2.0 * attempt) * jitter  # locks last 2 s
        return min(self.max_backoff, 0.5 * 2 ** (attempt - 1)) * jitter

    def _burst_pause(self, error: HubSpotError) -> float:
        if error.is_secondly_limit:  # search: 5/s, no headers
            return 1.0
        # The window is rolling: after a full window every slot is free again.
        return max(1.0, self.pacer.budget[1] / 1000)

    def retrying(self, on_retry: Callable[[], None]) -> Retrying:
        """A tenacity loop applying this policy; ``on_retry`` runs before each wait."""

        def before_sleep(state: RetryCallState) -> None:
            on_retry()
            exc = _exception(state)
            if isinstance(exc, HubSpotError) and not exc.is_expired_token:
                answer = f"HTTP {exc.status} {exc.category}".strip() if exc.status else exc.message
                logger.info(
                    "Retrying %s after %s (attempt %d of %d)",
                    exc.operation,
                    answer,
                    state.attempt_number + 1,
                    self.max_attempts,
                )

        return Retrying(
            stop=lambda s: self.gives_up(
                _exception(s), s.attempt_number, s.seconds_since_start or 0
            ),
            wait=lambda s: self.wait(_exception(s), s.attempt_number),
            retry=retry_if_exception(self.retryable),
            before_sleep=before_sleep,
            reraise=True,
        )


class TokenExchangePolicy(RetryPolicy):
    """The OAuth token endpoint: a few tries, only when HubSpot or the network failed."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__(pacer, max_attempts=4)

    def retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ConnectionFailed):
            return exc.retryable
        return isinstance(exc, HubSpotError) and exc.status >= 500

    def gives_up(self, exc: BaseException | None, attempt: int, elapsed: float) -> bool:
        return attempt >= self.max_attempts


def _exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None
