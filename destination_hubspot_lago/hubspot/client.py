"""The HubSpot HTTP client: the one place that sends, paces and retries.

It knows HTTP and HubSpot's conventions, nothing about Lago. Every caller, from any
thread, goes through :meth:`HubSpotClient.request`, which composes three layers:
:mod:`.transport` (one exchange on the wire), :mod:`.retry` (what is retried, how long
to wait) and :mod:`.errors` (HubSpot's answer as an immutable value, and what it
means). No other module retries a failed call or sleeps for pacing; the only other
wait is ``portal/deployment.py``'s read-back of a custom object it has just created.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from .api import Api, lane_of
from .auth import Auth
from .errors import ConnectionFailed, HubSpotError
from .pacing import Pacer
from .retry import RetryPolicy, TokenExchangePolicy
from .transport import Answer, Request, Transport

logger = logging.getLogger("airbyte")


@dataclass
class ClientStats:
    """Counters a sync reports at the end; workers count through the methods (locked)."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    token_refreshes: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_call(self, status: int) -> None:
        with self._lock:
            self.calls += 1
            self.by_status[status] += 1
            if status == 429:
                self.rate_limited += 1

    def count_refresh(self) -> None:
        with self._lock:
            self.token_refreshes += 1

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1


class HubSpotClient:
    """Thread-safe JSON client for ``api_base_url``."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        pacer: Pacer | None = None,
        *,
        timeout: tuple[float, float] = (10.0, 90.0),
        max_attempts: int = 8,
        max_backoff_seconds: float = 60.0,
        api: Api | None = None,
    ) -> None:
        self.transport = Transport(base_url, timeout)
        self.base_url = self.transport.base_url
        self.paths = api or Api()  # every path we call, for one API version (hubspot/api.py)
        self.auth = auth
        self.pacer = pacer or Pacer()
        self.stats = ClientStats()
        self.portal_timezone: str | None = None  # learned by whoever reads account details
        self.policy = RetryPolicy(
            self.pacer,
            oauth=auth.kind == "oauth",
            max_attempts=max_attempts,
            max_backoff_seconds=max_backoff_seconds,
        )
        self._token_policy = TokenExchangePolicy(self.pacer)
        auth.attach(self._exchange_token)

    # -- public verbs -----------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, json_body=body, params=params)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.request("PATCH", path, json_body=body)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        ok: Iterable[int] = (200, 201, 202, 204, 207),
    ) -> Any:
        """Send with pacing and retries; return the parsed JSON body (None when empty).

        Raises :class:`HubSpotError` for any answer outside ``ok`` once retries are spent.
        """
        request = Request(method, path, json_body=json_body, params=params)
        accepted = frozenset(ok)
        for attempt in self.policy.retrying(self.stats.count_retry):
            with attempt:
                return self._answer(request, accepted, self._exchange(request))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one attempt ------------------------------------------------------------------

    def _exchange(self, request: Request) -> tuple[Answer, str]:
        """One paced exchange; returns the answer and the token it was sent with."""
        token = self.auth.access_token() if request.authenticated else ""
        prepared = self.transport.prepare(request, token)
        lane = lane_of(request.path)
        sent = 0.0
        try:
            if request.authenticated:
                paced = self.pacer.lane(lane)  # one window for the place and the slot
                with paced.in_flight():
                    sent = paced.acquire()  # last thing before sending: HubSpot counts arrivals
                    answer = self.transport.send(prepared, request.operation)
            else:
                answer = self.transport.send(prepared, request.operation)
        except ConnectionFailed:
            self.stats.count_call(0)
            raise
        self.stats.count_call(answer.status)
        if request.authenticated:
            self.pacer.observe(answer.headers, lane, sent)
        return answer, token

    def _answer(self, request: Request, ok: frozenset[int], exchanged: tuple[Answer, str]) -> Any:
        """The parsed body of a success, else HubSpot's error (after its side effects on
        the shared pacer and token)."""
        answer, token = exchanged
        if answer.status in ok:
            if not answer.data:
                return None
            try:
                return orjson.loads(answer.data)
            except orjson.JSONDecodeError:
                raise HubSpotError(
                    status=answer.status,
                    message="HubSpot answered with a body that is not JSON",
                    operation=request.operation,
                ) from None
        error = HubSpotError.from_response(
            answer.status,
            answer.data,
            request.operation,
            retry_after=_retry_after(answer.headers.get("Retry-After")),
        )
        if error.is_expired_token and request.authenticated:
            self.auth.on_expired(token)
        if error.is_burst_limit:
            # The window is the app's: every caller of this lane pauses (never another lane).
            self.pacer.back_off(1.0, lane_of(request.path))
        if error.is_daily_limit:
            error = replace(error, hint=daily_reset_hint(self.portal_timezone))
        raise error

    def post_form(self, path: str, form: Mapping[str, str]) -> dict[str, Any]:
        """POST a form without bearer auth (HubSpot's OAuth endpoints), retried on outages only."""
        request = Request("POST", path, form=dict(form), authenticated=False)
        for attempt in self._token_policy.retrying(self.stats.count_retry):
            with attempt:
                result = self._answer(request, frozenset({200}), self._exchange(request))
                return dict(result or {})
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange_token(self, form: dict[str, str]) -> Mapping[str, Any]:
        """POST the OAuth token endpoint (no pacing, no auth), retried on outages only."""
        try:
            result = self.post_form(self.paths.token, form)
        except HubSpotError as error:
            if error.status in (400, 401):
                raise replace(
                    error,
                    hint=(
                        "HubSpot refused the OAuth refresh token or client credentials: "
                        "re-authenticate the connection (Authenticate button) or check the "
                        "client ID and client secret."
                    ),
                ) from None
            raise
        self.stats.count_refresh()
        return result


def daily_reset_hint(timezone: str | None) -> str:
    """When the portal's daily quota resets: midnight in its time zone (UTC if unknown)."""
    import pendulum

    tz = timezone or "UTC"
    try:
        now = pendulum.now(tz)
    except Exception:  # an unknown zone name must not hide the real error
        tz, now = "UTC", pendulum.now("UTC")
    reset = now.add(days=1).start_of("day")
    return (
        f"The portal's daily API quota is used up. It resets at {reset.to_iso8601_string()} "
        f"(midnight {tz}, {reset.in_timezone('UTC').format('YYYY-MM-DD HH:mm')} UTC); "
        "run the sync again after that. Already-checkpointed records are safe."
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
