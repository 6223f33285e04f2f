"""The emulator's HTTP/1.1 server as pooled keep-alive clients use it: no connection ends
without an answer, ``Connection: close`` is said exactly when the server closes, every answer
is delimited, idle connections are closed cleanly, and a burst of new connections is taken."""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from tests.support.hubspot_emulator import ALL_SCOPES, HubSpotEmulator

TOKEN = "pat-na1-http"
READ_ONLY = "pat-na1-http-read-only"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
# Generous: an answer takes milliseconds; only a connection left unanswered gets near it.
TIMEOUT = urllib3.Timeout(connect=15, read=15)


def emulator(**options: Any) -> HubSpotEmulator:
    return HubSpotEmulator(
        private_app_tokens={TOKEN: ALL_SCOPES, READ_ONLY: ["crm.objects.contacts.read"]},
        **options,
    )


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with emulator() as running:
        yield running


def host_port(emu: HubSpotEmulator) -> tuple[str, int]:
    host, port = emu.url.removeprefix("http://").split(":")
    return host, int(port)


def mixed_calls(emu: HubSpotEmulator, n: int) -> list[tuple[str, str, dict[str, Any], set[int]]]:
    """(method, path, request options, statuses it may answer) — success and error answers,
    bodies refused early (bad token, bad JSON), bodiless 204s."""
    objects = "/crm/objects/2026-09"
    upsert = {"inputs": [{"idProperty": "email", "id": f"c{n}@example.com", "properties": {}}]}
    return [
        ("GET", f"{objects}/companies?limit=1", {"headers": AUTH}, {200, 429}),
        ("POST", f"{objects}/contacts/batch/upsert", {"headers": JSON, "json": upsert}, {200, 429}),
        ("GET", f"{objects}/no-such-type", {"headers": AUTH}, {400, 429}),
        (
            "POST",
            f"{objects}/companies/batch/upsert",
            {"headers": {"Authorization": "Bearer wrong"}, "body": b"x" * 300_000},
            {401},
        ),
        (
            "POST",
            f"{objects}/companies/batch/read",
            {"headers": JSON, "body": b"{nope"},
            {400, 429},
        ),
        ("DELETE", f"{objects}/companies/{n}", {"headers": AUTH}, {204, 429}),
        ("GET", "/no/such/endpoint", {"headers": AUTH}, {404, 429}),
        (
            "GET",
            f"{objects}/companies",
            {"headers": {"Authorization": f"Bearer {READ_ONLY}"}},
            {403, 429},
        ),
    ]


def test_a_burst_of_pooled_connections_with_mixed_answers_sees_no_connection_error() -> None:
    # 64 workers open their connections at the same moment, then reuse them: socketserver's
    # listen backlog of 5 left some of them unanswered until the client gave up.
    workers, rounds = 64, 3
    with emulator(rate_limit_max=100, rate_limit_interval_ms=1000) as emu:
        pool = urllib3.PoolManager(maxsize=workers, block=True, retries=False, timeout=TIMEOUT)
        start = threading.Barrier(workers)
        failures: list[str] = []
        answered: list[int] = []
        lock = threading.Lock()

        def work(worker: int) -> None:
            start.wait()
            for r in range(rounds):
                calls = mixed_calls(emu, worker)
                method, path, options, expected = calls[(worker + r) % len(calls)]
                try:
                    response = pool.request(method, emu.url + path, **options)
                except Exception as exc:  # any connection error fails the test
                    with lock:
                        failures.append(f"{method} {path}: {exc!r}")
                    continue
                with lock:
                    answered.append(response.status)
                    if response.status not in expected:
                        failures.append(f"{method} {path}: {response.status} {response.data!r}")

        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert len(answered) == workers * rounds
        assert emu.connections_opened <= workers  # reused, not reopened
        pool.clear()


def test_one_pooled_connection_carries_every_kind_of_answer_and_idle_gaps(
    emu: HubSpotEmulator,
) -> None:
    pool = urllib3.PoolManager(maxsize=1, block=True, retries=False, timeout=TIMEOUT)
    seen: list[tuple[int, dict[str, str]]] = []

    def call(method: str, path: str, **options: Any) -> int:
        response = pool.request(method, emu.url + path, **options)
        seen.append((response.status, dict(response.headers)))
        return response.status

    for method, path, options, expected in mixed_calls(emu, 1):
        assert call(method, path, **options) in expected
    for status in (429, 503, 502, 500, 423):
        emu.inject_fault(status=status, method="POST", path_regex=r"/batch/upsert$")
        body = {"inputs": [{"idProperty": "email", "id": "f@example.com", "properties": {}}]}
        assert call("POST", "/crm/objects/2026-09/contacts/batch/upsert", json=body) == status
    chunked = iter([b'{"inputs": [], ', b'"properties": []}'])
    path = "/crm/objects/2026-09/companies/batch/read"
    assert call("POST", path, body=chunked, chunked=True, headers=JSON) in (200, 404)
    for _ in range(2):
        time.sleep(1.5)  # an idle pooled connection, well under the keep-alive timeout
        assert call("GET", "/crm/objects/2026-09/companies", headers=AUTH) == 200
    assert emu.connections_opened == 1  # one connection carried all of them
    for status, headers in seen:
        lowered = {k.lower(): v for k, v in headers.items()}
        assert "connection" not in lowered, (status, headers)
        assert lowered["keep-alive"] == "timeout=120"
        assert ("content-length" in lowered) == (status != 204), (status, headers)
    pool.clear()


def raw_exchange(emu: HubSpotEmulator, request: bytes) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(host_port(emu), timeout=10)
    sock.sendall(request)
    return sock, read_answer(sock)


def read_answer(sock: socket.socket) -> bytes:
    """One answer: headers, then exactly Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def closed_by_server(sock: socket.socket, wait: float = 10.0) -> bool:
    """True when the server closed its side cleanly (EOF, not a reset) within ``wait``."""
    readable, _, _ = select.select([sock], [], [], wait)
    return bool(readable) and sock.recv(1) == b""


def test_a_body_whose_length_cannot_be_read_is_answered_400_then_closed(
    emu: HubSpotEmulator,
) -> None:
    for framing in (b"Content-Length: lots", b"Transfer-Encoding: chunked"):
        request = (
            b"POST /crm/objects/2026-09/companies/batch/read HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + framing
            + b"\r\n\r\nzz-not-a-chunk\r\n"
        )
        sock, answer = raw_exchange(emu, request)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert (
            b"\r\nConnection: close\r\n" in answer and b'"category": "VALIDATION_ERROR"' in answer
        )
        assert closed_by_server(sock)
        sock.close()


def test_connection_close_is_said_exactly_when_the_server_closes(emu: HubSpotEmulator) -> None:
    get = f"GET /crm/objects/2026-09/companies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}"
    sock, answer = raw_exchange(emu, f"{get}\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ") and b"\r\nConnection: close\r\n" in answer
    assert closed_by_server(sock)
    sock.close()

    old = get.replace("HTTP/1.1", "HTTP/1.0")
    sock, answer = raw_exchange(emu, f"{old}\r\n\r\n".encode())
    assert b"\r\nConnection: close\r\n" in answer and closed_by_server(sock)
    sock.close()

    sock, answer = raw_exchange(emu, f"{old}\r\nConnection: keep-alive\r\n\r\n".encode())
    assert b"\r\nConnection: keep-alive\r\n" in answer
    sock.sendall(f"{old}\r\nConnection: keep-alive\r\n\r\n".encode())
    assert read_answer(sock).startswith(b"HTTP/1.1 200 ")  # the same connection, reused
    sock.close()


def test_an_idle_connection_is_closed_cleanly_after_the_announced_timeout() -> None:
    with emulator(keep_alive_timeout=1) as emu:
        get = (
            "GET /crm/objects/2026-09/companies HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {TOKEN}\r\n\r\n"
        ).encode()
        sock, answer = raw_exchange(emu, get)
        answered = time.monotonic()
        assert b"\r\nKeep-Alive: timeout=1\r\n" in answer
        assert b"\r\nConnection:" not in answer
        assert closed_by_server(sock)  # a FIN (recv gives b""), not a reset
        assert time.monotonic() - answered >= 0.9  # not before the timeout it announced
        sock.close()
        # A pool whose connection the server closed while idle just opens another one.
        pool = urllib3.HTTPConnectionPool(*host_port(emu), maxsize=1, retries=False)
        url = "/crm/objects/2026-09/companies"
        assert pool.request("GET", url, headers=AUTH, timeout=TIMEOUT).status == 200
        (pooled,) = [c.sock for c in list(pool.pool.queue) if c is not None and c.sock]
        assert closed_by_server(pooled)
        assert pool.request("GET", url, headers=AUTH, timeout=TIMEOUT).status == 200
        assert emu.connections_opened == 3
        pool.close()


def test_stopping_the_emulator_closes_its_pooled_connections() -> None:
    emu = emulator().__enter__()
    conn = http.client.HTTPConnection(*host_port(emu), timeout=10)
    conn.request("GET", "/crm/objects/2026-09/companies", headers=AUTH)
    assert conn.getresponse().read() is not None
    emu.stop()
    assert conn.sock is not None and closed_by_server(conn.sock)
    # Not answered any more by the thread of a stopped emulator.
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/crm/objects/2026-09/companies", headers=AUTH)
        conn.getresponse().read()
    conn.close()
