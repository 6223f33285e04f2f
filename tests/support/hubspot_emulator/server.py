"""HTTP front end: keep-alive server, auth, rate limits, faults, latency and the request log.

Request pipeline (one thread per connection, so latency and concurrency are real):
read body → injected/random fault → bearer auth → rate limit (on arrival) → latency → scopes
→ handler.
Faulted calls are never applied.

HTTP/1.1 as pooled clients expect it: the whole request body is read before any answer, error
answers included; every answer carries ``x-hubspot-correlation-id`` and a ``Content-Length``
(except 204, which must not); a connection stays open after any answer (4xx, 429, 5xx) and
says ``Connection: close`` exactly when the server is about to close it (the client asked, an
HTTP/1.0 client, a request whose framing cannot be read); an idle connection is closed after
``keep_alive_timeout`` seconds, announced by ``Keep-Alive: timeout=…``; the listen backlog
takes a burst of new connections (socketserver's default of 5 left some of a pool's
connections unanswered for tens of seconds); ``stop()`` closes the open connections.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .auth import ALL_SCOPES, AuthRegistry, RateLimiter
from .errors import ApiError
from .records import BATCH_RECORD_ERRORS
from .routes import Handlers, Request, Route, dated_status, match_route
from .standard_model import DEFAULT_CUSTOM_OBJECT_LIMIT
from .store import Store

# POST endpoints that only read (excluded from ``mutating_requests``); /oauth/* is public and
# never mutating for the log's purposes.
REFUSE_DEFAULT_ASSOCIATIONS_ENV = "HUBSPOT_EMULATOR_REFUSE_DEFAULT_ASSOCIATIONS"
BATCH_RECORD_ERRORS_ENV = "HUBSPOT_EMULATOR_BATCH_RECORD_ERRORS"
KEEP_ALIVE_TIMEOUT_SECONDS = 120.0
LISTEN_BACKLOG = 1024
_READ_ONLY_POST = re.compile(r"/(batch/read|search)/?$|^/oauth/")


@dataclass
class FaultRule:
    status: int | str  # HTTP status, "reset" or "timeout"
    method: str | None
    path_regex: re.Pattern[str]
    times: int
    retry_after: int | float | None
    body: Any
    delay: float


@dataclass
class DropRule:
    """Leave the results of some inputs out of batch/upsert|update answers (not applied)."""

    ids: frozenset[str]
    path_regex: re.Pattern[str]
    times: int | None  # answers still to alter; None: every one
    error: dict[str, Any] | None


# What a batch answer says in place of a dropped result by default: an error that names no
# input (HubSpot's errors[] items often do not). Wording is the emulator's own.
UNNAMED_BATCH_ERROR: dict[str, Any] = {
    "status": "error",
    "category": "INTERNAL_ERROR",
    "message": "An internal error occurred while processing an input of this batch.",
    "context": {},
    "errors": [],
    "links": {},
}
_DROPPABLE = frozenset({"batch_upsert", "batch_update"})


class _BadFraming(Exception):
    """The request's body cannot be delimited (bad Content-Length or chunking)."""


def _gateway_page(status: int, reason: str) -> bytes:
    # Gateways (Cloudflare/ELB) answer 502/504 with HTML, not HubSpot JSON (UNVERIFIED text).
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class HubSpotEmulator:
    def __init__(
        self,
        portal_id: int = 62515,
        private_app_tokens: dict[str, list[str]] | None = None,
        oauth_clients: dict[str, str] | None = None,
        refresh_tokens: dict[str, tuple[str, list[str]]] | None = None,
        access_token_ttl_seconds: int = 1800,
        rotate_refresh_tokens: bool = False,
        custom_object_limit: int = DEFAULT_CUSTOM_OBJECT_LIMIT,
        rate_limit_max: int = 190,
        rate_limit_interval_ms: int = 10_000,
        daily_limit: int = 1_000_000,
        latency_seconds: float = 0.0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        fault_statuses: Sequence[int] = (502, 503, 504, 423),
        search_per_second: int = 5,
        associations_lane: str = "shared",
        service_keys: dict[str, list[str]] | None = None,
        introspection_lists_scopes: bool = True,
        required_on_create: dict[str, list[str]] | None = None,
        refuse_default_custom_associations: bool | None = None,
        batch_record_errors: str | None = None,
        keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT_SECONDS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.portal_id = portal_id
        self.store = Store(portal_id, custom_object_limit)
        self.auth = AuthRegistry(
            portal_id,
            private_app_tokens if private_app_tokens is not None else {},
            oauth_clients or {},
            refresh_tokens or {},
            access_token_ttl_seconds,
            rotate_refresh_tokens,
            service_keys,
            introspection_lists_scopes,
        )
        for object_type, names in (required_on_create or {}).items():
            self.store.require_on_create(object_type, *names)
        if refuse_default_custom_associations is None:
            # The whole suite can run against a portal without default custom associations:
            # HUBSPOT_EMULATOR_REFUSE_DEFAULT_ASSOCIATIONS=1 ./scripts/test
            refuse_default_custom_associations = (
                os.environ.get(REFUSE_DEFAULT_ASSOCIATIONS_ENV, "") == "1"
            )
        self.store.refuse_default_custom_associations = refuse_default_custom_associations
        if batch_record_errors is None:
            # HUBSPOT_EMULATOR_BATCH_RECORD_ERRORS=whole_batch ./scripts/test runs the whole
            # suite against a HubSpot that fails a batch for one refused input.
            batch_record_errors = os.environ.get(BATCH_RECORD_ERRORS_ENV, "") or "per_record"
        if batch_record_errors not in BATCH_RECORD_ERRORS:
            raise ValueError(
                f"batch_record_errors must be one of {', '.join(BATCH_RECORD_ERRORS)}, "
                f"not {batch_record_errors!r}"
            )
        self.store.batch_record_errors = batch_record_errors
        self.keep_alive_timeout = keep_alive_timeout
        self.limiter = RateLimiter(
            rate_limit_max,
            rate_limit_interval_ms,
            daily_limit,
            search_per_second,
            associations_lane,
        )
        self.handlers = Handlers(self.store, self.auth, self.limiter)
        self.latency_seconds = latency_seconds
        self.fault_rate = fault_rate
        self.fault_statuses = tuple(fault_statuses)
        self._rng = random.Random(fault_seed)
        self._fault_lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._drops: list[DropRule] = []
        self._connections_lock = threading.Lock()
        self._open_connections: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted (a test control)
        self._log_lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.url = ""

    # ----------------------------------------------------------------------- lifecycle ---

    def start(self) -> str:
        if self._server is not None:
            return self.url
        server = _Server((self._host, self._port), _Handler)
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, name="hubspot-emulator", daemon=True
        )
        self._thread.start()
        self.url = f"http://{self._host}:{server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes "timeout" faults and latency sleeps
        self._server.shutdown()
        self._server.server_close()
        with self._connections_lock:
            still_open = list(self._open_connections)
        for conn in still_open:  # a pooled client must not be served by a stopped emulator
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> HubSpotEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------- test controls ---

    def inject_fault(
        self,
        status: int | str = 503,
        method: str | None = None,
        path_regex: str = r".*",
        times: int = 1,
        retry_after: int | float | None = None,
        body: Any = None,
        delay: float = 30.0,
    ) -> None:
        """Answer the next ``times`` matching calls with ``status`` without applying them.

        ``status="reset"`` closes the connection without a response; ``status="timeout"``
        sleeps ``delay`` seconds and then processes the call normally (like a slow HubSpot:
        the client may have given up while the write still happened).
        """
        with self._fault_lock:
            self._rules.append(
                FaultRule(
                    status,
                    method.upper() if method else None,
                    re.compile(path_regex),
                    times,
                    retry_after,
                    body,
                    delay,
                )
            )

    def drop_batch_results(
        self,
        ids: Sequence[str],
        *,
        path_regex: str = r"/batch/(upsert|update)$",
        times: int | None = None,
        error: dict[str, Any] | None = UNNAMED_BATCH_ERROR,
    ) -> None:
        """Answer batch/upsert and batch/update calls as if HubSpot had skipped the inputs
        whose ``id`` is one of ``ids``: they are not applied, their result is left out of the
        answer, and ``error`` (default: one naming no input; None: nothing) is added to
        ``errors[]`` for each — 207 on v3 paths, 200 with ``numErrors`` on date-based ones.
        ``times``: how many answers to alter (None: every one that has such an input)."""
        with self._fault_lock:
            self._drops.append(
                DropRule(frozenset(map(str, ids)), re.compile(path_regex), times, error)
            )

    def expire_access_tokens(self) -> None:
        self.auth.expire_access_tokens()

    def exhaust_daily_limit(self) -> None:
        self.limiter.exhaust_daily()

    def clear_log(self) -> None:
        with self._log_lock:
            self.requests.clear()

    def mutating_requests(self) -> list[dict[str, Any]]:
        with self._log_lock:
            entries = list(self.requests)
        # A batch with no inputs cannot change anything (the connector's write-scope probe).
        return [
            e
            for e in entries
            if is_mutating(e["method"], e["path"]) and e["body"] != {"inputs": []}
        ]

    # --------------------------------------------------------------------- internals ---

    def _take_fault(self, method: str, path: str, route: Route | None) -> FaultRule | None:
        with self._fault_lock:
            for rule in self._rules:
                if (rule.method in (None, method)) and rule.path_regex.search(path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
            if (
                self.fault_rate > 0
                and route is not None
                and route.mutating
                and self._rng.random() < self.fault_rate
            ):
                status = self._rng.choice(self.fault_statuses)
                return FaultRule(status, None, re.compile(".*"), 1, None, None, 0.0)
        return None

    def _take_drop(self, route: Route | None, path: str, body: Any) -> DropRule | None:
        if route is None or route.handler not in _DROPPABLE or not isinstance(body, dict):
            return None
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            return None
        named = {str(i.get("id")) for i in inputs if isinstance(i, dict)}
        with self._fault_lock:
            for rule in self._drops:
                if rule.path_regex.search(path) and named & rule.ids:
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._drops.remove(rule)
                    return rule
        return None

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self.connections_opened += 1
            self._open_connections.add(conn)

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._open_connections.discard(conn)

    def _log(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self.requests.append(entry)


def is_mutating(method: str, path: str) -> bool:
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    if method == "POST" and _READ_ONLY_POST.search(path):
        return False
    found = match_route(method, path)
    return found is None or found[0].mutating


def fault_response(rule: FaultRule) -> tuple[int, bytes | ApiError, str, dict[str, str]]:
    """(status, raw body or HubSpot error, content type, headers) HubSpot or its gateway sends."""
    status = int(rule.status)
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = str(rule.retry_after)
    if rule.body is not None:
        if isinstance(rule.body, bytes | str):
            raw = rule.body.encode() if isinstance(rule.body, str) else rule.body
            return status, raw, "text/plain; charset=utf-8", headers
        return status, json.dumps(rule.body).encode(), "application/json;charset=utf-8", headers
    if status in (502, 504):
        reason = "Bad Gateway" if status == 502 else "Gateway Time-out"
        return status, _gateway_page(status, reason), "text/html", headers
    json_type = "application/json;charset=utf-8"
    if status == 423:
        # "Locks will last for 2 seconds" [DOC error-handling]; wording UNVERIFIED.
        message = "The resource is locked. Please wait at least 2 seconds and retry the request."
        return status, ApiError(423, "LOCKED", message), json_type, headers
    if status == 477:
        headers.setdefault("Retry-After", "1")
        message = (
            "This portal is being migrated between data centers. Retry after the time given in "
            "the Retry-After header."
        )  # UNVERIFIED wording
        return status, ApiError(477, "MIGRATION_IN_PROGRESS", message), json_type, headers
    if status == 429:
        extra = {
            "errorType": "RATE_LIMIT",
            "policyName": "TEN_SECONDLY_ROLLING",
            "requestId": str(uuid.uuid4()),
        }
        message = "You have reached your ten_secondly_rolling limit."
        return status, ApiError(429, "RATE_LIMITS", message, extra=extra), json_type, headers
    if status == 503:
        return (
            status,
            ApiError(503, "SERVICE_UNAVAILABLE", "Service Unavailable"),
            json_type,
            headers,
        )
    return status, ApiError(status, "INTERNAL_ERROR", "internal error"), json_type, headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a pool opening more connections at once than
    # that had some of them accepted only after TCP retransmissions, tens of seconds later.
    request_queue_size = LISTEN_BACKLOG


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HubSpotEmulator/1.0"
    _answered = False  # whether the current request has had its answer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean; the request log has everything

    @property
    def emu(self) -> HubSpotEmulator:
        return self.server.emulator  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ connection ---

    def setup(self) -> None:
        # The idle keep-alive timeout (also bounds a read stalled mid-request); on expiry
        # http.server closes the connection cleanly (FIN), as announced by Keep-Alive.
        self.timeout = self.emu.keep_alive_timeout
        super().setup()
        self.emu._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the client is gone; nothing left to flush to
        finally:
            self.emu._connection_closed(self.connection)

    def handle_one_request(self) -> None:
        self._answered = False
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left (e.g. gave up on a slow answer)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    # ------------------------------------------------------------------------ pipeline ---

    def _read_body(self) -> bytes:
        """The whole body, always, before any answer: a body left unread would be parsed as
        the next request on this connection."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BadFraming(f"invalid chunk size line {line[:40]!r}") from None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        declared = self.headers.get("Content-Length")
        if declared is None:
            return b""
        try:
            length = int(declared)
        except ValueError:
            raise _BadFraming(f"invalid Content-Length {declared!r}") from None
        if length < 0:
            raise _BadFraming(f"invalid Content-Length {declared!r}")
        return self.rfile.read(length) if length else b""

    def _parse_body(self, raw: bytes) -> tuple[Any, ApiError | None]:
        if not raw:
            return None, None
        content_type = self.headers.get("Content-Type", "")
        if "application/x-www-form-urlencoded" in content_type:
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            return {k: v[0] for k, v in form.items()}, None
        try:
            return json.loads(raw), None
        except ValueError as exc:
            return None, ApiError(
                400, "VALIDATION_ERROR", f"Invalid input JSON on line 1, column 1: {exc}"
            )

    def _handle(self) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        headers = {k: v for k, v in self.headers.items()}
        for key in list(headers):
            if key.lower() == "authorization":
                headers[key] = "Bearer ***"
        entry: dict[str, Any] = {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": headers,
            "body": None,
            "raw_body": b"",
            "status": None,
            "response": None,
            "response_headers": {},
            "started": started,
            "finished": None,
        }
        try:
            raw = self._read_body()
        except _BadFraming as exc:
            # The rest of the stream cannot be delimited: answer, then close (and say so).
            self.close_connection = True
            error = ApiError(400, "VALIDATION_ERROR", f"Malformed request: {exc}")
            self._send_json(400, error, {}, entry)
            return
        entry["raw_body"] = raw
        try:
            self._answer(path, query, raw, entry)
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as exc:  # an emulator bug must not kill the pooled connection
            traceback.print_exc()
            if not self._answered:
                error = ApiError(500, "INTERNAL_ERROR", f"internal error: {exc!r}")
                self._send_json(500, error, {}, entry)

    def _answer(
        self, path: str, query: dict[str, list[str]], raw: bytes, entry: dict[str, Any]
    ) -> None:
        emu = self.emu
        body, parse_error = self._parse_body(raw)
        entry["body"] = body
        found = match_route(self.command, path)
        route, params = found if found else (None, ())

        rule = emu._take_fault(self.command, path, route)
        if rule is not None and rule.status == "reset":
            entry["finished"] = time.monotonic()
            emu._log(entry)
            self._reset_connection()
            return
        if rule is not None and rule.status == "timeout":
            emu._stopping.wait(rule.delay)
            rule = None
        # Admission (auth, rate limit) happens on arrival, as at HubSpot's edge: the burst
        # window counts arrivals. Latency then models the time HubSpot takes to answer.
        admitted: tuple[Any, dict[str, str]] | ApiError | None = None
        if rule is None and not (route is not None and route.public):
            try:
                principal = emu.auth.authenticate(self.headers.get("Authorization"))
                admitted = (
                    principal,
                    emu.limiter.check(principal, search=bool(route and route.search), path=path),
                )
            except ApiError as exc:
                admitted = exc
        if emu.latency_seconds > 0:
            emu._stopping.wait(emu.latency_seconds)
        if rule is not None:
            self._send_fault(rule, entry)
            return

        rate_headers: dict[str, str] = {}
        try:
            if isinstance(admitted, ApiError):
                raise admitted
            if parse_error is not None:
                raise parse_error
            status, payload, rate_headers = self._process(
                route, params, path, query, body, admitted
            )
        except ApiError as exc:
            status, payload = exc.status, exc
            rate_headers = {**rate_headers, **exc.headers}
        except Exception as exc:  # an emulator bug must not kill the pooled connection
            traceback.print_exc()
            status, payload = 500, ApiError(500, "INTERNAL_ERROR", f"internal error: {exc!r}")
        self._send_json(status, payload, rate_headers, entry)

    def _process(
        self,
        route: Route | None,
        params: tuple[str, ...],
        path: str,
        query: dict[str, list[str]],
        body: Any,
        admitted: tuple[Any, dict[str, str]] | None,
    ) -> tuple[int, Any, dict[str, str]]:
        emu = self.emu
        if route is not None and route.public:
            status, payload = emu.handlers.dispatch(route, self._request(params, path, query, body))
            return status, payload, {}
        assert admitted is not None
        principal, rate_headers = admitted
        try:
            if route is None:
                raise ApiError(
                    404, "OBJECT_NOT_FOUND", f"No endpoint matches {self.command} {path}"
                )
            if route.scopes is not None:
                emu.auth.require_scopes(principal, route.scopes(emu.store, params))
            drop = emu._take_drop(route, path, body)
            if drop is not None:
                kept = [i for i in body["inputs"] if str((i or {}).get("id")) not in drop.ids]
                dropped = len(body["inputs"]) - len(kept)
                body = {**body, "inputs": kept}
            status, payload = emu.handlers.dispatch(route, self._request(params, path, query, body))
            if drop is not None and drop.error is not None and isinstance(payload, dict):
                errors = [*(payload.get("errors") or []), *[dict(drop.error)] * dropped]
                payload = {**payload, "errors": errors, "numErrors": len(errors)}
                status = dated_status(route, path, 207)
        except ApiError as exc:
            exc.headers = {**rate_headers, **exc.headers}
            raise
        return status, payload, rate_headers

    def _request(
        self, params: tuple[str, ...], path: str, query: dict[str, list[str]], body: Any
    ) -> Request:
        return Request(self.command, path, params, query, body, self.emu.url)

    # ---------------------------------------------------------------------- responses ---

    def _send_json(
        self, status: int, payload: Any, extra_headers: dict[str, str], entry: dict[str, Any]
    ) -> None:
        correlation_id = str(uuid.uuid4())
        if isinstance(payload, ApiError):
            payload = payload.body(correlation_id)
        data = b"" if payload is None or status == 204 else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json;charset=utf-8"} if data else {}
        headers.update(extra_headers)
        self._write(status, data, headers, correlation_id, entry, None if not data else payload)

    def _send_fault(self, rule: FaultRule, entry: dict[str, Any]) -> None:
        status, payload, content_type, headers = fault_response(rule)
        correlation_id = str(uuid.uuid4())
        parsed: Any = None
        if isinstance(payload, ApiError):
            parsed = payload.body(correlation_id)
            data = json.dumps(parsed).encode()
        else:
            data = payload
            if content_type.startswith("application/json"):
                parsed = json.loads(data)
        headers = {"Content-Type": content_type, **headers}
        self._write(status, data, headers, correlation_id, entry, parsed)

    def _write(
        self,
        status: int,
        data: bytes,
        headers: dict[str, str],
        correlation_id: str,
        entry: dict[str, Any],
        parsed: Any,
    ) -> None:
        headers = {**headers, "x-hubspot-correlation-id": correlation_id}
        if status == 204 or status < 200:
            data = b""  # a 204 has no body and must not announce one (RFC 9110 §8.6)
        else:
            headers["Content-Length"] = str(len(data))
        if self.close_connection:
            headers["Connection"] = "close"
        else:
            if self.request_version == "HTTP/1.0":
                headers["Connection"] = "keep-alive"  # HTTP/1.0 closes unless told otherwise
            headers["Keep-Alive"] = f"timeout={int(self.emu.keep_alive_timeout)}"
        # Logged before it is sent: a client that has its answer finds the call in the log.
        entry.update(
            status=status,
            response=parsed,
            response_headers=headers,
            finished=time.monotonic(),
        )
        self.emu._log(entry)
        self._answered = True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)
        self.wfile.flush()

    def _reset_connection(self) -> None:
        self.close_connection = True
        try:
            # SO_LINGER 0 makes close() send RST, like a dropped upstream connection.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


__all__ = ["ALL_SCOPES", "HubSpotEmulator", "is_mutating"]
