"""The HubSpot HTTP client: one place that sends, paces, retries and turns errors into types.

It knows HTTP and HubSpot's conventions, nothing about Lago. Every caller, from any
thread, goes through :meth:`HubSpotClient.request`; nobody else sleeps or retries.

Retry policy (read it here, nowhere else):

* 429 ten-secondly: pause *all* threads (the budget is the app's), back off with jitter.
* 429 daily: never retried; the sync stops with a transient error naming the reset time.
* 423 (record locks): wait at least 2 s. 477 and any ``Retry-After``: honour it.
* 5xx, timeouts, dropped connections: exponential backoff with jitter.
* 401 EXPIRED_AUTHENTICATION (OAuth): refresh the token and retry at once.
* Everything else (400, 401, 403, 404, 409 …) is returned to the caller as an error.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import orjson
import requests
import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from .. import __version__
from ..redaction import filter_secrets
from .auth import Auth
from .errors import ConnectionFailed, HubSpotError
from .pacing import Pacer

logger = logging.getLogger("airbyte")

RETRYABLE_STATUSES = {423, 429, 477, 500, 502, 503, 504, 521, 522, 523, 524}
TOKEN_PATH = "/oauth/v1/token"
MAX_RETRY_AFTER_SECONDS = 300.0  # beyond this, waiting inside one sync makes no sense
# Burst 429s mean the app's budget is shared with someone else: keep trying this long.
BURST_LIMIT_PATIENCE_SECONDS = 300.0


@dataclass
class ClientStats:
    """Counters a sync reports at the end (thread-safe through ``add``)."""

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
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.pacer = pacer or Pacer()
        self.stats = ClientStats()
        self.portal_timezone: str | None = None  # learned by whoever reads account details
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff_seconds
        self._pool = _connection_pool(self.base_url, pool_size)
        self._rng = random.Random()
        auth.attach(self._exchange_token)

    # -- public verbs -----------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("POST", path, json_body=body, params=params)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, json_body=body)

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
        accepted = frozenset(ok)
        retrying = Retrying(
            stop=self._stop,
            wait=self._backoff,
            retry=retry_if_exception(self._retryable),
            before_sleep=self._before_retry,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._send_once(method, path, json_body, None, params, accepted, True)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one attempt ------------------------------------------------------------------

    def _send_once(
        self,
        method: str,
        path: str,
        json_body: Any,
        form: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        ok: frozenset[int],
        authenticated: bool,
    ) -> Any:
        operation = filter_secrets(f"{method} {path}")
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",  # batch answers are large; urllib3 decodes them
            "User-Agent": f"destination-hubspot-lago/{__version__}",
        }
        token = ""
        if authenticated:
            token = self.auth.access_token()
            headers["Authorization"] = f"Bearer {token}"
        data: bytes | Mapping[str, str] | None = None
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            # orjson: several times faster than json on 100-record bodies, same UTF-8 output.
            data = orjson.dumps(json_body)
        elif form is not None:
            data = form
        if authenticated:
            self.pacer.acquire()  # last thing before sending: HubSpot counts arrivals
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        body = urlencode(data) if isinstance(data, Mapping) else data
        if isinstance(data, Mapping):
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connect, read = self._timeout
        try:
            response = self._pool.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(connect=connect, read=read),
                retries=False,  # retrying is this class's job, above
                redirect=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self.stats.count_call(0)
            # The exception text can quote the URL; only its type is safe and useful.
            raise ConnectionFailed(
                status=0,
                message=f"{type(exc).__name__} talking to {self.base_url}",
                operation=operation,
            ) from None
        self.stats.count_call(response.status)
        if authenticated:
            self.pacer.observe(response.headers)
        if response.status in ok:
            if not response.data:
                return None
            try:
                return orjson.loads(response.data)
            except orjson.JSONDecodeError:
                raise HubSpotError(
                    status=response.status,
                    message="HubSpot answered with a body that is not JSON",
                    operation=operation,
                ) from None
        error = HubSpotError.from_response(
            response.status,
            response.data,
            operation,
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
        if error.is_expired_token and authenticated:
            self.auth.on_expired(token)
        return self._raise(error)

    def _raise(self, error: HubSpotError) -> Any:
        if error.is_burst_limit:
            self.pacer.back_off(1.0)
        if error.is_daily_limit:
            error.hint = self._daily_reset_hint()
        raise error

    def _exchange_token(self, form: dict[str, str]) -> Mapping[str, Any]:
        """POST the OAuth token endpoint through the same retry policy (no pacing, no auth)."""
        retrying = Retrying(
            stop=stop_after_attempt(4),
            wait=self._backoff,
            retry=retry_if_exception(
                lambda e: isinstance(e, HubSpotError) and (e.status == 0 or e.status >= 500)
            ),
            before_sleep=self._before_retry,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    result = self._send_once(
                        "POST", TOKEN_PATH, None, form, None, frozenset({200}), False
                    )
                    self.stats.count_refresh()
                    return dict(result or {})
        except HubSpotError as error:
            if error.status in (400, 401):
                error.hint = (
                    "HubSpot refused the OAuth refresh token or client credentials: "
                    "re-authenticate the connection (Authenticate button) or check the "
                    "client ID and client secret."
                )
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- retry decisions --------------------------------------------------------------

    def _stop(self, state: RetryCallState) -> bool:
        """Give up after ``max_attempts``, except on burst 429s: those get minutes, not tries."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HubSpotError) and exc.is_burst_limit:
            return (state.seconds_since_start or 0.0) >= BURST_LIMIT_PATIENCE_SECONDS
        return state.attempt_number >= self._max_attempts

    def _retryable(self, exc: BaseException) -> bool:
        if not isinstance(exc, HubSpotError):
            return False
        if exc.status == 0:
            return True
        if exc.is_daily_limit:
            return False
        if exc.is_expired_token:
            return self.auth.kind == "oauth"
        return exc.status in RETRYABLE_STATUSES

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        n = state.attempt_number
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
            return min(2 ** (n - 1), self._burst_pause(exc), self._max_backoff) * jitter
        if exc.status == 423:
            return 2.0 + min(self._max_backoff, 2.0 * n) * jitter  # locks last 2 s
        return min(self._max_backoff, 0.5 * 2 ** (n - 1)) * jitter

    def _burst_pause(self, error: HubSpotError) -> float:
        if "secondly limit" in error.message.lower():  # search: 5/s, no headers
            return 1.0
        # The window is rolling: after a full window every slot is free again.
        return max(1.0, self.pacer.budget[1] / 1000)

    def _before_retry(self, state: RetryCallState) -> None:
        self.stats.count_retry()
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, HubSpotError) and not exc.is_expired_token:
            answer = f"HTTP {exc.status} {exc.category}".strip() if exc.status else exc.message
            logger.info(
                "Retrying %s after %s (attempt %d of %d)",
                exc.operation,
                answer,
                state.attempt_number + 1,
                self._max_attempts,
            )

    def _daily_reset_hint(self) -> str:
        import pendulum

        tz = self.portal_timezone or "UTC"
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

    # -- transport --------------------------------------------------------------------


def _connection_pool(base_url: str, size: int) -> urllib3.PoolManager:
    """One thread-safe pool for all workers. A proxy from the environment (HTTPS_PROXY,
    NO_PROXY) is honoured with requests' own rules: scheme optional, credentials in the URL."""
    proxies = requests.utils.get_environ_proxies(base_url)
    proxy = proxies.get(urlsplit(base_url).scheme) or proxies.get("all")
    options: dict[str, Any] = {"maxsize": size, "block": False, "ca_certs": certifi.where()}
    if not proxy:
        return urllib3.PoolManager(num_pools=4, **options)
    proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
    user, password = requests.utils.get_auth_from_url(proxy)
    if user:
        options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
        parts = urlsplit(proxy)
        proxy = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    try:
        return urllib3.ProxyManager(proxy, **options)
    except (ValueError, AssertionError, urllib3.exceptions.HTTPError):
        # ProxySchemeUnknown is an AssertionError; the proxy URL itself may hold a secret.
        raise ConnectionFailed(
            status=0,
            message="the proxy set in HTTPS_PROXY/HTTP_PROXY is not a usable URL",
            hint="Set it to a URL such as http://proxy.example:3128, or unset it.",
        ) from None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
