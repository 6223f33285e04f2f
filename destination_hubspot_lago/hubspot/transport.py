"""One HTTP exchange with HubSpot, and nothing else: no pacing, no retries, no meaning.

:class:`Transport` turns a :class:`Request` into bytes on the wire and the wire's answer
into an :class:`Answer`. When no answer comes, it raises :class:`ConnectionFailed` and
decides, here where the cause is caught, whether waiting could help: a reset or a
timeout may heal, a certificate that fails verification or a malformed URL never does.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import orjson
import requests
import urllib3

from .. import __version__
from ..redaction import filter_secrets
from .errors import ConnectionFailed


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json_body: Any = None
    form: Mapping[str, str] | None = None
    params: Mapping[str, Any] | None = None
    authenticated: bool = True

    @property
    def operation(self) -> str:
        """How logs and errors name the call (never with a token or query values)."""
        return filter_secrets(f"{self.method} {self.path}")


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    body: bytes | str | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    data: bytes


class Transport:
    """Thread-safe: one urllib3 pool for every worker."""

    def __init__(
        self, base_url: str, timeout: tuple[float, float] = (10.0, 90.0), pool_size: int = 16
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._pool = connection_pool(self.base_url, pool_size)

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds."""
        return self._timeout.connect_timeout, self._timeout.read_timeout  # type: ignore[return-value]

    @timeout.setter
    def timeout(self, value: tuple[float, float]) -> None:
        self._timeout = urllib3.Timeout(connect=value[0], read=value[1])  # built once, immutable

    def prepare(self, request: Request, token: str = "") -> Prepared:
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",  # batch answers are large; urllib3 decodes them
            "User-Agent": f"destination-hubspot-lago/{__version__}",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body: bytes | str | None = None
        if request.json_body is not None:
            headers["Content-Type"] = "application/json"
            # orjson: several times faster than json on 100-record bodies, same UTF-8 output.
            body = orjson.dumps(request.json_body)
        elif request.form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(request.form)
        url = self.base_url + request.path
        if request.params:
            url += "?" + urlencode(request.params, doseq=True)
        return Prepared(request.method, url, body, headers)

    def send(self, prepared: Prepared, operation: str) -> Answer:
        try:
            response = self._pool.request(
                prepared.method,
                prepared.url,
                body=prepared.body,
                headers=dict(prepared.headers),
                timeout=self._timeout,
                retries=False,  # retrying is the client's job, on this error's verdict
                redirect=False,
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # The exception text can quote the URL; only its type is safe and useful.
            tls = _tls_refusal(exc)
            if tls is not None:
                raise ConnectionFailed(
                    status=0,
                    message=f"{tls} talking to {self.base_url}",
                    operation=operation,
                    retryable=False,
                ) from None
            raise ConnectionFailed(
                status=0,
                message=f"{type(exc).__name__} talking to {self.base_url}",
                operation=operation,
                retryable=not isinstance(exc, urllib3.exceptions.LocationValueError),
            ) from None
        return Answer(response.status, response.headers, response.data)


# A connection closed during the handshake may heal; every other TLS failure will not.
_TLS_DROPS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLWantReadError, ssl.SSLSyscallError)


def _tls_refusal(exc: BaseException) -> str | None:
    """What TLS refused, when waiting cannot help: a certificate that fails verification,
    a handshake that cannot succeed (plain HTTP on the port, no common protocol). Looked
    for anywhere in the cause chain: urllib3 wraps ssl's error, sometimes twice."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        if isinstance(item, ssl.SSLCertVerificationError):
            return "HubSpot's TLS certificate failed verification"
        if isinstance(item, ssl.SSLError) and not isinstance(item, _TLS_DROPS):
            return f"the TLS handshake failed ({item.reason or type(item).__name__})"
        seen.append(item)
        todo += [item.__cause__, item.__context__, *item.args]
    return None


def connection_pool(base_url: str, size: int) -> urllib3.PoolManager:
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
            retryable=False,
        ) from None
