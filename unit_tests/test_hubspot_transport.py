"""What the transport does when curl gets no usable answer, and which CA certificates it
trusts: each through HubSpotClient against a real server on loopback."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from destination_hubspot_lago.hubspot import (
    ConnectionFailed,
    Failure,
    HubSpotClient,
    HubSpotError,
    Pacer,
    PrivateAppAuth,
)

TOKEN = "pat-na1-00000000-1111-2222-3333-444444444444"
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
PATH = "/account-info/v3/details"


def client(url: str, attempts: int = 4) -> HubSpotClient:
    return HubSpotClient(
        url, PrivateAppAuth(TOKEN), Pacer(), max_attempts=attempts, max_backoff_seconds=0.01
    )


class Answers(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a small JSON body and counts the requests that reached it."""

    protocol_version = "HTTP/1.1"
    seen: list[str]
    gzip_lie = False  # say Content-Encoding: gzip over a body that is not gzip

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.seen.append(self.path)
        body = b"this body is not gzip" if self.gzip_lie else b'{"portalId": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.gzip_lie:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Server:
    url: str
    seen: list[str]
    certificate: Path | None = None  # the self-signed certificate (PEM) a TLS server shows


def serve(
    gzip_lie: bool = False, context: ssl.SSLContext | None = None
) -> tuple[http.server.ThreadingHTTPServer, list[str]]:
    seen: list[str] = []
    handler = type("Handler", (Answers,), {"seen": seen, "gzip_lie": gzip_lie})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """This machine (or CI's) may set any of them: each test says which it wants."""
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# -- a curl failure we have no name for is final ---------------------------------------


@pytest.fixture
def server_lying_about_gzip() -> Iterator[Server]:
    server, seen = serve(gzip_lie=True)
    yield Server(f"http://127.0.0.1:{server.server_address[1]}", seen)
    server.shutdown()


def test_an_unknown_curl_error_is_final_and_names_its_code(server_lying_about_gzip):
    """Content-Encoding: gzip over a body that is not gzip: curl fails with code 61
    (CURLE_BAD_CONTENT_ENCODING), which is in neither of the transport's tables."""
    c = client(server_lying_about_gzip.url)
    with pytest.raises(HubSpotError) as info:
        c.get(PATH, params={"probe": "query-value-7f3a"})
    error = info.value
    assert server_lying_about_gzip.seen == [PATH + "?probe=query-value-7f3a"]  # not retried
    assert c.stats.calls == 1 and c.stats.retries == 0
    assert isinstance(error, ConnectionFailed) and error.retryable is False
    assert error.failure is Failure.CONFIG
    text = str(error)
    assert "network error (curl code 61)" in text
    assert "api_base_url" in error.hint and "curl code 61" in error.hint  # what to do
    # Neither the request's URL (its query may carry anything), nor the token, nor curl's
    # own text (which can quote the URL).
    for leak in ("query-value-7f3a", "probe", TOKEN, "unencoding", "header check"):
        assert leak not in text and leak not in repr(error)


def test_a_tls_handshake_cut_short_by_the_peer_is_retried():
    """The TLS special case: the peer resets the connection mid-handshake, curl says
    CURLE_SSL_CONNECT_ERROR (like a handshake that can never succeed), and only its text
    tells it may heal."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[int] = []

    def reset_every_handshake() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.recv(1)  # part of the ClientHello; closing with the rest unread resets
            conn.close()

    threading.Thread(target=reset_every_handshake, daemon=True).start()
    c = client(f"https://127.0.0.1:{listener.getsockname()[1]}", attempts=3)
    try:
        with pytest.raises(ConnectionFailed) as info:
            c.get(PATH)
    finally:
        listener.close()
    assert c.stats.calls == 3 and len(accepted) == 3
    assert info.value.retryable and "cut short" in str(info.value)
