"""Pacing, retry decisions and error classification, without the network."""

import json
import time

import pytest

from destination_hubspot_lago.hubspot import (
    ConnectionFailed,
    Failure,
    HubSpotClient,
    HubSpotError,
    Pacer,
    PrivateAppAuth,
)
from destination_hubspot_lago.hubspot.auth import OAuthAuth
from destination_hubspot_lago.hubspot.client import daily_reset_hint


def error(status, body=b"", retry_after=None):
    return HubSpotError.from_response(status, body, "POST /crm/v3/x", retry_after=retry_after)


def body(**fields):
    return json.dumps({"status": "error", "correlationId": "c", **fields}).encode()


BURST = body(
    message="You have reached your ten_secondly_rolling limit.", policyName="TEN_SECONDLY_ROLLING"
)
DAILY = body(message="You have reached your daily limit.", policyName="DAILY")
EXPIRED = body(
    message="The OAuth token used to make this call expired 0 second(s) ago.",
    category="EXPIRED_AUTHENTICATION",
)
SCOPES = body(
    message="This app hasn't been granted all required scopes",
    category="MISSING_SCOPES",
    errors=[
        {
            "message": "One or more",
            "context": {"requiredGranularScopes": ["crm.schemas.custom.write"]},
        }
    ],
)


# -- error parsing and classification -----------------------------------------------


def test_error_body_fields_are_kept():
    e = error(403, SCOPES)
    assert (e.status, e.category, e.correlation_id) == (403, "MISSING_SCOPES", "c")
    assert e.missing_scopes == ["crm.schemas.custom.write"]
    assert "crm.schemas.custom.write" in str(e)


@pytest.mark.parametrize(
    "status, body, failure",
    [
        (401, b'{"category":"INVALID_AUTHENTICATION","message":"x"}', Failure.CONFIG),
        (403, SCOPES, Failure.CONFIG),
        (429, DAILY, Failure.TRANSIENT),
        (429, BURST, Failure.TRANSIENT),
        (503, b"", Failure.TRANSIENT),
        (502, b"<html>bad gateway</html>", Failure.TRANSIENT),
        (423, b"", Failure.TRANSIENT),
        (400, b'{"category":"VALIDATION_ERROR","message":"x"}', Failure.SYSTEM),
        (409, b'{"category":"CONFLICT","message":"x"}', Failure.SYSTEM),
    ],
)
def test_failure_types(status, body, failure):
    assert error(status, body).failure is failure


def test_every_user_facing_error_says_what_to_do():
    for e in (error(401), error(403, SCOPES), error(429, DAILY), error(503)):
        assert e.hint, e
    assert "reach" in str(ConnectionFailed(status=0, message="Timeout", operation="GET /x"))


def test_non_json_bodies_do_not_break_parsing():
    e = error(502, b"<html>Bad Gateway</html>")
    assert e.status == 502 and "Bad Gateway" in e.message


# -- retry decisions -----------------------------------------------------------------


def client(kind="private"):
    auth = PrivateAppAuth("pat-x") if kind == "private" else OAuthAuth("c", "s", "r")
    return HubSpotClient("http://127.0.0.1:1", auth, Pacer(), max_backoff_seconds=30)


@pytest.mark.parametrize(
    "exc, retry",
    [
        (error(429, BURST), True),
        (error(429, DAILY), False),
        (error(423), True),
        (error(477, retry_after=5), True),
        (error(500), True),
        (error(502), True),
        (error(503), True),
        (error(504), True),
        (ConnectionFailed(status=0, message="reset"), True),
        (error(400), False),
        (error(401), False),
        (error(403, SCOPES), False),
        (error(404), False),
        (error(409), False),
    ],
)
def test_what_is_retried(exc, retry):
    assert client().policy.retryable(exc) is retry


def test_expired_token_is_retried_only_with_oauth():
    assert client("oauth").policy.retryable(error(401, EXPIRED))
    assert not client("private").policy.retryable(error(401, EXPIRED))


def waits(c, exc, attempts=6):
    return [c.policy.wait(exc, n) for n in range(1, attempts + 1)]


def test_backoff_grows_with_jitter_and_is_capped():
    w = waits(client(), error(503), attempts=10)
    assert w[0] < w[3] < 30.0 + 1e-9
    assert max(w) <= 30.0
    assert len({round(x, 6) for x in waits(client(), error(503))}) > 1  # jittered


def test_locked_waits_at_least_two_seconds():
    assert min(waits(client(), error(423))) >= 2.0


def test_retry_after_is_honoured():
    assert waits(client(), error(477, retry_after=7), attempts=1) == [7.0]


def test_expired_token_retries_immediately():
    assert waits(client("oauth"), error(401, EXPIRED), attempts=1) == [0.0]


def test_daily_limit_message_names_the_reset_time():
    hint = daily_reset_hint("US/Eastern")
    assert "US/Eastern" in hint and "UTC" in hint
    assert "midnight UTC" in daily_reset_hint("Not/AZone")


# -- pacing ---------------------------------------------------------------------------


def test_pacer_starts_at_the_lowest_tier_and_learns_from_headers():
    p = Pacer()
    assert p.budget == (97, 10_000)
    p.observe(
        {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    )
    assert p.budget == (184, 10_000)


def test_pacer_is_capped_by_configuration():
    p = Pacer(cap_per_10_seconds=50)
    p.observe(
        {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    )
    assert p.budget == (50, 10_000)


def test_pacer_ignores_missing_or_bad_headers():
    p = Pacer()
    p.observe({})
    p.observe({"X-HubSpot-RateLimit-Max": "lots"})
    assert p.budget == (97, 10_000)


def test_pacer_blocks_once_the_window_is_used():
    p = Pacer()
    p.observe({"X-HubSpot-RateLimit-Max": "5", "X-HubSpot-RateLimit-Interval-Milliseconds": "1000"})
    assert p.budget == (4, 1000)
    start = time.monotonic()
    for _ in range(4):
        p.acquire()
    assert time.monotonic() - start < 0.3
    p.acquire()  # the fifth must wait for the first to leave the 1 s window
    assert time.monotonic() - start >= 0.9


def test_pause_stops_every_caller():
    p = Pacer()
    p.pause(0.3)
    start = time.monotonic()
    p.acquire()
    assert time.monotonic() - start >= 0.29


def test_burst_429_waits_start_short_and_grow_to_a_window():
    w = waits(client(), error(429, BURST), attempts=8)
    assert w[0] <= 1.0
    assert max(w) <= 10.0 + 1e-9  # a rolling window frees every slot after one window
    assert w[5] > w[0]


def test_burst_429_gets_minutes_not_a_fixed_number_of_tries():
    policy = client().policy
    # 50 tries, but not yet the patience in seconds
    assert policy.gives_up(error(429, BURST), attempt=50, elapsed=10.0) is False
    assert policy.gives_up(error(429, BURST), attempt=50, elapsed=301.0) is True
    assert policy.gives_up(error(503), attempt=50, elapsed=10.0) is True


def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(monkeypatch):
    from destination_hubspot_lago.hubspot.transport import proxy_settings

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert proxy_settings("https://api.hubapi.com").url == "http://proxy.internal:3128"
    monkeypatch.setenv("NO_PROXY", "api.hubapi.com")
    assert proxy_settings("https://api.hubapi.com") is None


NO_PROXY_NO_REQUESTS = """
import os, sys
from destination_hubspot_lago.hubspot import transport
for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
    del os.environ[name]
os.environ["HTTPS_PROXY"] = ""  # empty: no proxy, for urllib and requests alike
assert transport.proxy_settings("https://api.hubapi.com") is None
print("requests" in sys.modules)
os.environ["https_proxy"] = "http://proxy.internal:3128"
print(transport.proxy_settings("https://api.hubapi.com").url, "requests" in sys.modules)
"""


def test_without_a_proxy_variable_there_is_no_proxy_and_requests_is_not_imported():
    """requests is imported (some 50 ms of CPU) only when a *_proxy variable is set."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", NO_PROXY_NO_REQUESTS], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "http://proxy.internal:3128", "True"]


def test_proxy_credentials_are_kept_apart_and_a_missing_scheme_is_added(monkeypatch):
    from destination_hubspot_lago.hubspot.transport import proxy_settings

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:s3cret@proxy.internal:3128")
    proxy = proxy_settings("https://api.hubapi.com")
    assert (proxy.username, proxy.password) == ("user", "s3cret")
    assert "s3cret" not in proxy.url and "s3cret" not in repr(proxy)
    monkeypatch.setenv("HTTPS_PROXY", "proxy.internal:3128")
    assert proxy_settings("https://api.hubapi.com").url == "http://proxy.internal:3128"


def test_an_unusable_proxy_url_is_a_config_error_that_does_not_quote_it(monkeypatch):
    from destination_hubspot_lago.hubspot.transport import proxy_settings

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "ftp://user:s3cret@proxy.internal:3128")
    with pytest.raises(ConnectionFailed) as info:
        proxy_settings("https://api.hubapi.com")
    assert info.value.failure is Failure.CONFIG and "s3cret" not in str(info.value)
    assert "HTTPS_PROXY" in str(info.value)


def test_requests_really_go_through_the_proxy_with_its_credentials(monkeypatch):
    """A real proxy on loopback (it answers itself): the client sends it the absolute URL
    and the Proxy-Authorization header, and never reaches the (unresolvable) host."""
    import base64
    import http.server
    import threading

    seen: list[tuple[str, str]] = []

    class FakeProxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Proxy-Authorization", "")))
            body = b'{"portalId": 1}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://user:s3cret@127.0.0.1:{server.server_address[1]}")
    try:
        c = HubSpotClient("http://api.hubapi.invalid", PrivateAppAuth("pat-x"), Pacer())
        assert c.get("/account-info/v3/details") == {"portalId": 1}
    finally:
        server.shutdown()
    expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert seen == [("http://api.hubapi.invalid/account-info/v3/details", expected)]


def test_a_429_seen_by_many_threads_costs_one_penalty_and_the_share_recovers(monkeypatch):
    import destination_hubspot_lago.hubspot.pacing as pacing

    p = Pacer()
    p.observe(
        {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    )
    full = p.budget[0]
    for _ in range(8):
        p.back_off(0.01)
    assert p.budget[0] == int(190 * pacing.HEADROOM * pacing.PENALTY)
    monkeypatch.setattr(pacing, "RECOVERY_SECONDS", 0.0)
    p.observe(
        {"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}
    )
    assert p.budget[0] == full


# -- errors are values; decisions come from structured fields ------------------------


def test_an_error_never_changes_after_construction():
    import dataclasses

    e = error(429, DAILY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.hint = "something else"
    explained = dataclasses.replace(e, hint="Wait until midnight.")
    assert explained.hint == "Wait until midnight." and e.hint != explained.hint
    assert explained.failure is e.failure is Failure.TRANSIENT


def property_error(code, name, message):
    return body(
        category="VALIDATION_ERROR",
        message=message,
        errors=[{"message": message, "code": code, "context": {"propertyName": [name]}}],
    )


def test_a_missing_property_is_a_model_problem_from_its_code_or_the_embedded_list():
    from destination_hubspot_lago.hubspot.errors import as_model_problem

    coded = error(400, property_error("PROPERTY_DOESNT_EXIST", "x", "Property x is gone"))
    legacy = error(
        400,
        body(
            category="VALIDATION_ERROR",
            message='Property values were not valid: [{"isValid":false,"message":"Property '
            '\\"x\\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"x"}]',
        ),
    )
    for e in (coded, legacy):
        explained = as_model_problem(e)
        assert explained is not None and "redeploys the model" in explained.hint
    bad_value = error(400, property_error("INVALID_OPTION", "x", "weekly was not one of …"))
    assert as_model_problem(bad_value) is None


def test_email_refusals_are_recognised_from_structured_fields():
    from destination_hubspot_lago.hubspot.errors import refuses_email

    assert refuses_email(error(400, property_error("INVALID_EMAIL", "email", "bad")))
    contact_exists = body(
        category="OBJECT_ALREADY_EXISTS",
        message="Contact already exists. Existing ID: 1",
        error="CONTACT_EXISTS",
    )
    assert refuses_email(error(409, contact_exists))
    other_unique = body(
        category="CONFLICT",
        message="A contact with lago_customer_external_id 'e' already exists",
        context={"propertyName": ["lago_customer_external_id"]},
    )
    assert not refuses_email(error(409, other_unique))


# -- the transport decides what can heal ---------------------------------------------


@pytest.fixture
def tls_server_with_an_untrusted_certificate(tmp_path):
    import http.server
    import ssl
    import threading

    from tests.support.tls import self_signed

    cert_file, key_file = self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_certificate_that_fails_verification_is_not_retried(
    tls_server_with_an_untrusted_certificate,
):
    c = HubSpotClient(
        tls_server_with_an_untrusted_certificate, PrivateAppAuth("pat-x"), Pacer(), max_attempts=4
    )
    with pytest.raises(ConnectionFailed) as info:
        c.get("/account-info/v3/details")
    assert c.stats.calls == 1 and c.stats.retries == 0
    assert not info.value.retryable and info.value.failure is Failure.CONFIG
    assert "certificate" in str(info.value)


def test_a_refused_connection_is_retried():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    c = HubSpotClient(
        f"http://127.0.0.1:{port}",
        PrivateAppAuth("pat-x"),
        Pacer(),
        max_attempts=2,
        max_backoff_seconds=0.01,
    )
    with pytest.raises(ConnectionFailed) as info:
        c.get("/account-info/v3/details")
    assert c.stats.calls == 2 and info.value.retryable


def test_plain_http_on_an_https_url_is_not_retried():
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        c = HubSpotClient(
            f"https://127.0.0.1:{server.server_address[1]}",
            PrivateAppAuth("pat-x"),
            Pacer(),
            max_attempts=4,
        )
        with pytest.raises(ConnectionFailed) as info:
            c.get("/account-info/v3/details")
    finally:
        server.shutdown()
    assert c.stats.calls == 1 and not info.value.retryable
    assert "TLS handshake failed" in str(info.value)


def test_the_search_limit_waits_a_second_not_a_window():
    secondly = error(
        429, body(message="You have reached your secondly limit.", policyName="SECONDLY")
    )
    assert secondly.is_secondly_limit and not error(429, BURST).is_secondly_limit
    assert max(waits(client(), secondly, attempts=8)) <= 1.0
