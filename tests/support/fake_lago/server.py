"""A small real HTTP server that answers like Lago's API v1 for the source-getlago streams."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .data import Dataset, Record, sample_dataset

API_PREFIX = "/api/v1"
DEFAULT_PER_PAGE = 20

# Plain list endpoints: path -> (Dataset attribute, JSON key of the list).
LIST_ENDPOINTS = {
    "/customers": "customers",
    "/invoices": "invoices",
    "/billable_metrics": "billable_metrics",
    "/plans": "plans",
    "/coupons": "coupons",
    "/add_ons": "add_ons",
    "/fees": "fees",
    "/wallets": "wallets",
}
USAGE_PATH = re.compile(r"^/customers/([^/]+)/(current_usage|past_usage)$")


# Lago's Subscription statuses (app/models/subscription.rb STATUSES).
SUBSCRIPTION_STATUSES = frozenset({"pending", "active", "terminated", "canceled", "incomplete"})


def subscription_statuses(query: dict[str, list[str]]) -> frozenset[str] | None:
    """The statuses GET /subscriptions lists, as lago-api's SubscriptionIndex does.

    No ``status[]`` means ``["active"]`` only (``filters[:status] = ["active"] if blank``);
    values that are all known statuses filter on them; any unknown value makes the query
    skip the status filter (``valid_status?`` is false), so every status is listed (None).
    A bare ``status=`` (no brackets) is not permitted as an array and counts as absent.
    """
    given = query.get("status[]")
    if not given:
        return frozenset({"active"})
    if all(s in SUBSCRIPTION_STATUSES for s in given):
        return frozenset(given)
    return None


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string, e.g. /api/v1/customers
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body)
        self.status = status
        self.body = body


def lago_error(status: int, code: str | None = None, **extra: Any) -> ApiError:
    """An error in Lago's shape: ``{"status", "error", "code", ...}``."""
    reasons = {
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        422: "Unprocessable Entity",
    }
    body: dict[str, Any] = {"status": status, "error": reasons.get(status, "Error")}
    if code is not None:
        body["code"] = code
    body.update(extra)
    return ApiError(status, body)


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        value = int(query.get(name, [str(default)])[-1])
    except ValueError:
        return default
    return value if value > 0 else default


def paginate(records: Sequence[Record], query: dict[str, list[str]], key: str) -> dict[str, Any]:
    """One page of ``records`` with Lago's ``meta`` block (``next_page`` null on the last)."""
    page = _int_param(query, "page", 1)
    per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE)
    total = len(records)
    total_pages = max(1, math.ceil(total / per_page))
    start = (page - 1) * per_page
    return {
        key: list(records[start : start + per_page]) if start < total else [],
        "meta": {
            "current_page": page,
            "next_page": page + 1 if page < total_pages else None,
            "prev_page": page - 1 if page > 1 else None,
            "total_pages": total_pages,
            "total_count": total,
        },
    }


@dataclass
class FakeLago:
    """Serve ``dataset`` on 127.0.0.1 like ``https://api.getlago.com/api/v1``.

    ``url = FakeLago(sample_dataset()).start()`` returns ``http://127.0.0.1:<port>/api/v1``.
    Usable as a context manager. ``requests`` logs every request received.
    """

    dataset: Dataset = field(default_factory=sample_dataset)
    api_key: str = "lago-test-key"
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeLago is not started")
        return f"http://{self.host}:{self._server.server_address[1]}{API_PREFIX}"

    def start(self) -> str:
        if self._server is None:
            self._server = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="fake-lago", daemon=True
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait(self) -> None:
        """Block until ``stop()`` is called from another thread (or KeyboardInterrupt)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeLago:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def terminate_subscription(self, subscription_id: str) -> dict[str, Any]:
        """Terminate a subscription between two syncs (see ``Dataset.terminate_subscription``)."""
        with self._lock:
            return self.dataset.terminate_subscription(subscription_id)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Logged requests whose path (after /api/v1) equals ``path``."""
        with self._lock:
            return [r for r in self.requests if r.path == API_PREFIX + path]

    # ---- routing -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers) -> Any:
        """The JSON body for a request, or raise ``ApiError``."""
        if headers.get("Authorization", "") != f"Bearer {self.api_key}":
            raise ApiError(401, {"status": 401, "error": "Unauthorized"})
        if not path.startswith(API_PREFIX + "/"):
            raise lago_error(404, "route_not_found")
        route = path[len(API_PREFIX) :].rstrip("/")
        if method != "GET":
            raise lago_error(404, "route_not_found")

        if route in LIST_ENDPOINTS:
            name = LIST_ENDPOINTS[route]
            return paginate(getattr(self.dataset, name), query, name)
        if route == "/subscriptions":
            return self._subscriptions(query)
        match = USAGE_PATH.match(route)
        if match:
            return self._usage(unquote(match.group(1)), match.group(2), query)
        raise lago_error(404, "route_not_found")

    def _subscriptions(self, query: dict[str, list[str]]) -> dict[str, Any]:
        # Lago lists one customer's subscriptions; only *active* ones unless status[] is given.
        customer_ids = query.get("external_customer_id", [])
        if not customer_ids or not customer_ids[-1]:
            raise lago_error(
                422,
                "validation_errors",
                error_details={"external_customer_id": ["value_is_mandatory"]},
            )
        subs = self.dataset.subscriptions_of(customer_ids[-1])
        statuses = subscription_statuses(query)
        if statuses is not None:
            subs = [s for s in subs if s["status"] in statuses]
        return paginate(subs, query, "subscriptions")

    def _usage(self, customer_id: str, kind: str, query: dict[str, list[str]]) -> dict[str, Any]:
        customer = self.dataset.customer(customer_id)
        if customer is None:
            raise lago_error(404, "customer_not_found")
        sub_id = (query.get("external_subscription_id") or [""])[-1]
        active = [
            s
            for s in self.dataset.subscriptions_of(customer_id)
            if s["external_id"] == sub_id and s["status"] == "active"
        ]
        if not active:
            raise lago_error(405, "no_active_subscription")
        if kind == "past_usage":
            return paginate([], query, "usage_periods")
        return {
            "customer_usage": {
                "from_datetime": "2025-01-01T00:00:00Z",
                "to_datetime": "2025-01-31T23:59:59Z",
                "issuing_date": "2025-02-01",
                "lago_invoice_id": None,
                "currency": customer["currency"],
                "amount_cents": 0,
                "taxes_amount_cents": 0,
                "total_amount_cents": 0,
                "charges_usage": [],
            }
        }

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler_for(fake: FakeLago) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive request.
        disable_nagle_algorithm = True
        server_version = "FakeLago/1.0"

        def _serve(self) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query, keep_blank_values=True)
            request = RecordedRequest(self.command, split.path, query, dict(self.headers.items()))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            try:
                status, body = 200, fake.handle(self.command, split.path, query, self.headers)
            except ApiError as error:
                status, body = error.status, error.body
            request.status = status
            fake._record(request)
            payload = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean; see FakeLago.requests

    return Handler
