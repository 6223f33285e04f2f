"""What the transport does when curl gets no usable answer, and which CA certificates it
trusts: each through HubSpotClient against a real server on loopback."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import pytest

from destination_hubspot_lago.hubspot import (
    ConnectionFailed,
    Failure,
    HubSpotClient,
    HubSpotError,
    Pacer,
    PrivateAppAuth,
)
from tests.support.tls import self_signed

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


# -- the CA certificates the environment names ------------------------------------------


@pytest.fixture
def tls_server(tmp_path) -> Iterator[Server]:
    """A TLS server on loopback whose certificate no public CA signed (as a TLS-inspecting
    proxy's is)."""
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server, seen = serve(context=context)
    yield Server(f"https://127.0.0.1:{server.server_address[1]}", seen, cert_file)
    server.shutdown()


def test_without_a_variable_the_certificate_fails_verification_and_the_hint_names_them(
    tls_server, no_ca_variables
):
    c = client(tls_server.url)
    with pytest.raises(ConnectionFailed) as info:
        c.get(PATH)
    assert c.stats.calls == 1 and c.stats.retries == 0  # not retried
    assert not info.value.retryable and info.value.failure is Failure.CONFIG
    assert "certificate failed verification" in str(info.value)
    assert "REQUESTS_CA_BUNDLE" in info.value.hint and "SSL_CERT_FILE" in info.value.hint


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_a_variable_naming_the_proxys_ca_certificate_lets_the_call_through(
    tls_server, no_ca_variables, variable
):
    no_ca_variables.setenv(variable, str(tls_server.certificate))
    assert client(tls_server.url).get(PATH) == {"portalId": 1}
    assert tls_server.seen == [PATH]


@pytest.mark.parametrize(
    "variables, trusted",
    [
        # requests' order: REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE; then SSL_CERT_FILE.
        ({"REQUESTS_CA_BUNDLE": "public", "CURL_CA_BUNDLE": "proxy"}, False),
        ({"REQUESTS_CA_BUNDLE": "proxy", "CURL_CA_BUNDLE": "public"}, True),
        ({"REQUESTS_CA_BUNDLE": "public", "SSL_CERT_FILE": "proxy"}, False),
        ({"CURL_CA_BUNDLE": "public", "SSL_CERT_FILE": "proxy"}, False),
        ({"CURL_CA_BUNDLE": "proxy", "SSL_CERT_FILE": "public"}, True),
        # An empty variable counts as unset, as in requests.
        ({"REQUESTS_CA_BUNDLE": "", "SSL_CERT_FILE": "proxy"}, True),
    ],
)
def test_the_variables_are_read_in_requests_order(tls_server, no_ca_variables, variables, trusted):
    files = {"proxy": str(tls_server.certificate), "public": certifi.where(), "": ""}
    for name, which in variables.items():
        no_ca_variables.setenv(name, files[which])
    c = client(tls_server.url)
    if trusted:
        assert c.get(PATH) == {"portalId": 1}
    else:
        with pytest.raises(ConnectionFailed) as info:
            c.get(PATH)
        assert "certificate failed verification" in str(info.value)
        first = next(name for name in CA_VARIABLES if variables.get(name))
        assert first in info.value.hint  # says which variable's certificates were trusted


@pytest.mark.parametrize("variable", CA_VARIABLES)
def test_a_variable_naming_a_missing_file_is_a_config_error_naming_it(
    tls_server, no_ca_variables, tmp_path, variable
):
    missing = tmp_path / "no-such-ca.pem"
    no_ca_variables.setenv(variable, str(missing))
    with pytest.raises(ConnectionFailed) as info:
        client(tls_server.url)  # when the client is made, before anything is sent
    error = info.value
    assert not error.retryable and error.failure is Failure.CONFIG
    assert variable in str(error) and str(missing) in str(error) and "does not exist" in str(error)
    assert "curl code" not in str(error)  # said by us, not as curl failing later
    assert variable in error.hint  # what to fix
    assert tls_server.seen == []  # said before anything is sent


def test_a_variable_naming_an_unreadable_file_names_it(tls_server, no_ca_variables, tmp_path):
    garbage = tmp_path / "not-a-certificate.pem"
    garbage.write_text("this is not PEM\n")
    no_ca_variables.setenv("SSL_CERT_FILE", str(garbage))
    c = client(tls_server.url)
    with pytest.raises(ConnectionFailed) as info:
        c.get(PATH)
    assert c.stats.calls == 1 and not info.value.retryable
    assert f"SSL_CERT_FILE ({garbage}) cannot be read" in str(info.value)
    assert "SSL_CERT_FILE" in info.value.hint


def test_the_variables_are_read_once_per_client(tls_server, no_ca_variables, tmp_path):
    no_ca_variables.setenv("REQUESTS_CA_BUNDLE", str(tls_server.certificate))
    c = client(tls_server.url)
    no_ca_variables.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    assert c.get(PATH) == {"portalId": 1}  # the bundle named when the client was made
    with pytest.raises(ConnectionFailed):
        client(tls_server.url)  # a new client reads the variable again


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_variable_naming_a_directory_of_hashed_certificates_is_used_as_one(
    tls_server, no_ca_variables, tmp_path
):
    """requests takes a directory in REQUESTS_CA_BUNDLE as OpenSSL's CA path (certificates
    named by their subject hash, as c_rehash leaves them)."""
    directory = tmp_path / "certs"
    directory.mkdir()
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(tls_server.certificate)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    os.symlink(tls_server.certificate, directory / f"{subject_hash}.0")
    no_ca_variables.setenv("REQUESTS_CA_BUNDLE", str(directory))
    assert client(tls_server.url).get(PATH) == {"portalId": 1}
    # Without the hashed certificate in it, the same server fails: the directory was trusted.
    (directory / f"{subject_hash}.0").unlink()
    with pytest.raises(ConnectionFailed) as info:
        client(tls_server.url).get(PATH)
    assert "certificate failed verification" in str(info.value)
