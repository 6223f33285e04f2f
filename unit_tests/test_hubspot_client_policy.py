"""Pacing, retry decisions and error classification, without the network."""

import json
import time

import pytest
from tenacity import RetryCallState

from destination_hubspot_lago.hubspot import (
    ConnectionFailed,
    Failure,
    HubSpotClient,
    HubSpotError,
    Pacer,
    PrivateAppAuth,
)
from destination_hubspot_lago.hubspot.auth import OAuthAuth


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
    assert client()._retryable(exc) is retry


def test_expired_token_is_retried_only_with_oauth():
    assert client("oauth")._retryable(error(401, EXPIRED))
    assert not client("private")._retryable(error(401, EXPIRED))


def waits(c, exc, attempts=6):
    out = []
    for n in range(1, attempts + 1):
        state = RetryCallState(None, None, (), {})
        state.attempt_number = n
        state.set_exception((type(exc), exc, None))
        out.append(c._backoff(state))
    return out


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
    c = client()
    c.portal_timezone = "US/Eastern"
    with pytest.raises(HubSpotError) as info:
        c._raise(error(429, DAILY))
    assert "US/Eastern" in str(info.value) and "UTC" in str(info.value)


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
    c = client()
    state = RetryCallState(None, None, (), {})
    state.attempt_number = 50
    state.set_exception((HubSpotError, error(429, BURST), None))
    assert c._stop(state) is False  # 50 tries, but not yet the patience in seconds
    state.set_exception((HubSpotError, error(503), None))
    assert c._stop(state) is True


def test_a_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(monkeypatch):
    import urllib3

    from destination_hubspot_lago.hubspot.client import _connection_pool

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert isinstance(_connection_pool("https://api.hubapi.com", 4), urllib3.ProxyManager)
    monkeypatch.setenv("NO_PROXY", "api.hubapi.com")
    pool = _connection_pool("https://api.hubapi.com", 4)
    assert not isinstance(pool, urllib3.ProxyManager)


def test_proxy_credentials_become_a_header_and_a_missing_scheme_is_added(monkeypatch):
    import urllib3

    from destination_hubspot_lago.hubspot.client import _connection_pool

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://user:s3cret@proxy.internal:3128")
    pool = _connection_pool("https://api.hubapi.com", 4)
    assert isinstance(pool, urllib3.ProxyManager)
    assert pool.proxy_headers["proxy-authorization"].startswith("Basic ")
    assert "s3cret" not in str(pool.proxy)
    monkeypatch.setenv("HTTPS_PROXY", "proxy.internal:3128")
    assert _connection_pool("https://api.hubapi.com", 4).proxy.scheme == "http"


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
