"""One HTTP exchange with HubSpot, and nothing else: no pacing, no retries, no meaning.

:class:`Transport` turns a :class:`Request` into bytes on the wire and the wire's answer
into an :class:`Answer`. When no answer comes, it raises :class:`ConnectionFailed` and
decides, here where the cause is caught, whether waiting could help: a reset or a
timeout may heal; a certificate that fails verification, a malformed URL, or any failure
curl names with a code we do not know never does (retrying the unknown would only hide it).

The CA certificates trusted are those the environment names, as requests reads them
(``REQUESTS_CA_BUNDLE``, then ``CURL_CA_BUNDLE``), then OpenSSL's ``SSL_CERT_FILE``, else
certifi's bundle: behind a proxy that inspects TLS, the user points one of them at the
proxy's CA certificate.

The wire is libcurl (pycurl): connection reuse, TLS, proxies and gzip are done in C, at
about a third of the CPU per 100-record call that urllib3's pure-Python layers cost (the
benchmark's largest single cost after the records themselves). Each worker thread keeps
its own handle, and with it its own kept-alive connection; nothing is shared between them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import orjson
import pycurl

from .._version import __version__
from ..airbyte.secrets import filter_secrets
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
    body: bytes | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive (see Headers)
    data: bytes


class Headers(dict[str, str]):
    """Response headers by lower-cased name: ``get("Retry-After")`` finds ``retry-after``."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass(frozen=True)
class Proxy:
    """The proxy the environment names for HubSpot (requests' rules), credentials apart."""

    url: str  # scheme://host:port, never with credentials
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


# Where the CA certificates may be named, first match wins: requests' order, then OpenSSL's.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@dataclass(frozen=True)
class CaCertificates:
    """The CA certificates a transport trusts, and who named them."""

    path: str  # a PEM file, or a directory of hashed certificates (as requests allows)
    source: str = ""  # the environment variable that named it; "" for certifi's bundle
    is_dir: bool = False

    @property
    def named_as(self) -> str:
        return f"{self.source} ({self.path})" if self.source else "the bundled CA certificates"


def ca_certificates() -> CaCertificates:
    """The CA certificates the environment names (an empty variable counts as unset, as in
    requests), else certifi's bundle. A variable naming nothing that exists is the user's to
    fix, said here rather than as a curl error on the first request."""
    for name in CA_BUNDLE_VARIABLES:
        path = os.environ.get(name, "")
        if not path:
            continue
        if not os.path.exists(path):
            raise ConnectionFailed(
                status=0,
                message=f"{name} is set to {path}, which does not exist",
                hint=(
                    f"Set {name} to the PEM file of CA certificates to trust (behind a proxy "
                    "that inspects TLS: its CA certificate), or unset it to trust the public "
                    "CAs."
                ),
                retryable=False,
            )
        return CaCertificates(path, name, os.path.isdir(path))
    return CaCertificates(certifi.where())


class Transport:
    """Thread-safe: every thread that sends gets its own curl handle (and connection)."""

    def __init__(self, base_url: str, timeout: tuple[float, float] = (10.0, 90.0)) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.proxy = proxy_settings(self.base_url)
        self._user_agent = f"User-Agent: destination-hubspot-lago/{__version__}"
        self.ca = ca_certificates()  # file lookups: once per client, not per request
        self._local = threading.local()  # per-thread handles, not a lock

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds; read: how long one exchange may take in all."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: tuple[float, float]) -> None:
        self._timeout = (float(value[0]), float(value[1]))

    def prepare(self, request: Request, token: str = "") -> Prepared:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body: bytes | None = None
        if request.json_body is not None:
            headers["Content-Type"] = "application/json"
            # orjson: several times faster than json on 100-record bodies, same UTF-8 output.
            body = orjson.dumps(request.json_body)
        elif request.form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(request.form).encode()
        url = self.base_url + request.path
        if request.params:
            url += "?" + urlencode(request.params, doseq=True)
        return Prepared(request.method, url, body, headers)

    def send(self, prepared: Prepared, operation: str) -> Answer:
        handle = self._handle()
        data, head = BytesIO(), BytesIO()
        handle.reset()  # options only: the kept-alive connection stays
        self._configure(handle)
        handle.setopt(pycurl.URL, prepared.url)
        if prepared.method == "GET":
            handle.setopt(pycurl.HTTPGET, 1)
        else:
            handle.setopt(pycurl.POSTFIELDS, prepared.body or b"")
            if prepared.method != "POST":
                handle.setopt(pycurl.CUSTOMREQUEST, prepared.method)
        handle.setopt(
            pycurl.HTTPHEADER,
            [f"{k}: {v}" for k, v in prepared.headers.items()] + [self._user_agent, "Expect:"],
        )
        handle.setopt(pycurl.WRITEDATA, data)
        handle.setopt(pycurl.HEADERFUNCTION, head.write)
        try:
            handle.perform()
        except pycurl.error as exc:
            raise _no_answer(exc, self.base_url, operation, self.ca) from None
        return Answer(
            handle.getinfo(pycurl.RESPONSE_CODE), _headers(head.getvalue()), data.getvalue()
        )

    def _handle(self) -> Any:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = self._local.handle = pycurl.Curl()
        return handle

    def _configure(self, handle: Any) -> None:
        connect, read = self._timeout
        handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: safe in threads
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(connect * 1000)))
        # curl has no per-read timeout: the whole exchange gets `read` seconds (HubSpot's
        # slowest batch answers take a few; the default is 90).
        handle.setopt(pycurl.TIMEOUT_MS, max(1, int(read * 1000)))
        handle.setopt(pycurl.ACCEPT_ENCODING, "gzip")  # batch answers are large; curl decodes
        if self.ca.is_dir:
            handle.setopt(pycurl.CAPATH, self.ca.path)
            handle.unsetopt(pycurl.CAINFO)  # the directory alone, as requests does
        else:
            handle.setopt(pycurl.CAINFO, self.ca.path)
        handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        if self.proxy is None:
            handle.setopt(pycurl.PROXY, "")  # "": no proxy, whatever curl would read itself
        else:
            handle.setopt(pycurl.PROXY, self.proxy.url)
            if self.proxy.username:
                handle.setopt(pycurl.PROXYUSERNAME, self.proxy.username)
                handle.setopt(pycurl.PROXYPASSWORD, self.proxy.password)


def _headers(raw: bytes) -> Headers:
    """The last answer's headers (a 100 Continue or a proxy's CONNECT answer come first)."""
    headers = Headers()
    for line in raw.decode("latin-1").split("\r\n"):
        if line.startswith("HTTP/"):
            headers = Headers()
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


# curl's codes for what waiting cannot heal: the URL or its scheme, the local CA bundle,
# and a peer whose certificate fails verification. A code in neither table is final too.
_NOT_VERIFIED = "HubSpot's TLS certificate failed verification"
_NEVER_HEALS = {
    pycurl.E_UNSUPPORTED_PROTOCOL: "the URL's scheme is not http or https",
    pycurl.E_URL_MALFORMAT: "the URL is malformed",
    pycurl.E_PEER_FAILED_VERIFICATION: _NOT_VERIFIED,
    pycurl.E_SSL_CERTPROBLEM: "the TLS client certificate is unusable",
    pycurl.E_SSL_CACERT_BADFILE: "the CA certificate bundle cannot be read",
    pycurl.E_SSL_ISSUER_ERROR: _NOT_VERIFIED,
    pycurl.E_SSL_PINNEDPUBKEYNOTMATCH: _NOT_VERIFIED,
    pycurl.E_SSL_INVALIDCERTSTATUS: _NOT_VERIFIED,
}
_MAY_HEAL = {
    pycurl.E_COULDNT_RESOLVE_PROXY: "the proxy's host name could not be resolved",
    pycurl.E_COULDNT_RESOLVE_HOST: "the host name could not be resolved",
    pycurl.E_COULDNT_CONNECT: "the connection was refused or the host is unreachable",
    pycurl.E_OPERATION_TIMEDOUT: "no answer in time",
    pycurl.E_GOT_NOTHING: "the connection closed without an answer",
    pycurl.E_SEND_ERROR: "the connection failed while sending",
    pycurl.E_RECV_ERROR: "the connection failed while receiving",
    pycurl.E_PARTIAL_FILE: "the answer was cut short",
}
# A TLS handshake cut short by the network may heal; any other handshake failure (plain
# HTTP on the port, no common protocol) will not. curl gives both the same code; only its
# message tells them apart, and only this one sentence reads it.
_HANDSHAKE_DROPS = (
    "SSL_ERROR_SYSCALL",
    "unexpected eof",
    "Connection reset",
    "Connection was reset",
)


def _no_answer(
    exc: pycurl.error, base_url: str, operation: str, ca: CaCertificates
) -> ConnectionFailed:
    """curl's failure as a ConnectionFailed. curl's own text is left out (it can quote the
    URL); what happened is named from its code."""
    code = exc.args[0] if exc.args else -1
    detail = str(exc.args[1]) if len(exc.args) > 1 else ""
    if code == pycurl.E_SSL_CONNECT_ERROR:
        heals = any(drop in detail for drop in _HANDSHAKE_DROPS)
        what = "the TLS handshake was cut short" if heals else "the TLS handshake failed"
        return ConnectionFailed(
            status=0, message=f"{what} talking to {base_url}", operation=operation, retryable=heals
        )
    if code in _MAY_HEAL:
        return ConnectionFailed(
            status=0, message=f"{_MAY_HEAL[code]} talking to {base_url}", operation=operation
        )
    what, hint = _NEVER_HEALS.get(code, f"network error (curl code {code})"), ""
    if what == _NOT_VERIFIED:
        hint = _not_verified_hint(ca)
    elif code == pycurl.E_SSL_CACERT_BADFILE:
        what = f"the CA certificates in {ca.named_as} cannot be read"
        hint = (
            f"Set {ca.source} to a readable PEM file of CA certificates, or unset it."
            if ca.source
            else "Reinstall the connector: its CA certificate bundle is damaged."
        )
    elif code not in _NEVER_HEALS:
        # Unknown to us, so not known to heal: retrying would only delay the same failure.
        hint = (
            "Waiting is not expected to fix this: check that api_base_url is HubSpot's URL "
            "and that any proxy between this machine and HubSpot passes its answers on "
            f"unchanged. If it persists, report curl code {code} to the connector's "
            "maintainers."
        )
    return ConnectionFailed(
        status=0,
        message=f"{what} talking to {base_url}",
        operation=operation,
        hint=hint,
        retryable=False,
    )


def _not_verified_hint(ca: CaCertificates) -> str:
    if ca.source:
        return (
            f"The CA certificates trusted are {ca.named_as}: if a proxy between this machine "
            f"and HubSpot inspects TLS, set {ca.source} to a file holding that proxy's CA "
            "certificate; otherwise check that api_base_url is right."
        )
    return (
        "Check that api_base_url is right. If a proxy between this machine and HubSpot "
        "inspects TLS (presents its own certificate), set REQUESTS_CA_BUNDLE or SSL_CERT_FILE "
        "to a file holding that proxy's CA certificate."
    )


_PROXY_SCHEMES = frozenset({"http", "https", "socks4", "socks4a", "socks5", "socks5h"})


def _may_name_a_proxy() -> bool:
    """False when requests would certainly find no proxy: outside macOS and Windows (whose
    system settings urllib also reads), urllib's getproxies, which requests asks, reads only
    the non-empty variables whose names end in ``_proxy`` (any case)."""
    if sys.platform == "darwin" or os.name == "nt":
        return True
    return any(value and name[-6:].lower() == "_proxy" for name, value in os.environ.items())


def proxy_settings(base_url: str) -> Proxy | None:
    """The proxy from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) for
    ``base_url``, with requests' own rules: scheme optional (http), credentials in the URL."""
    if not _may_name_a_proxy():
        return None
    import requests  # here: its import costs some 50 ms of CPU, for a few helpers

    proxies = requests.utils.get_environ_proxies(base_url)
    proxy = proxies.get(urlsplit(base_url).scheme) or proxies.get("all")
    if not proxy:
        return None
    proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
    try:
        parts = urlsplit(proxy)
        usable = parts.scheme in _PROXY_SCHEMES and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        usable = False
    if not usable:
        # The proxy URL itself may hold a secret: it is never quoted.
        raise ConnectionFailed(
            status=0,
            message="the proxy set in HTTPS_PROXY/HTTP_PROXY is not a usable URL",
            hint="Set it to a URL such as http://proxy.example:3128, or unset it.",
            retryable=False,
        )
    user, password = requests.utils.get_auth_from_url(proxy)
    return Proxy(parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl(), user, password)
