"""Secrets never leave the process; data never shapes a URL or a JSON document."""

from __future__ import annotations

import re

import pytest

from destination_hubspot_lago.config import ConfigError, DestinationConfig
from tests.support.harness import (
    OAUTH_CLIENT_SECRET,
    OAUTH_REFRESH_TOKEN,
    PRIVATE_APP_TOKEN,
    make_emulator,
    oauth_config,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.scenario import linked_sample


def issued_access_tokens(emu) -> list[str]:
    return [
        r["response"]["access_token"]
        for r in emu.requests
        if r["path"] == "/oauth/2026-09/token" and r["status"] == 200
    ]


def sample_lines(emu):
    dataset = linked_sample(emu.store)
    bad = dict(dataset.invoices[0], lago_id="inv-bad", total_amount_cents="12.5")
    return (
        [record("customers", c) for c in dataset.customers]
        + [record("subscriptions", s) for s in dataset.subscriptions]
        + [record("invoices", i) for i in [*dataset.invoices, bad]]
        + [stream_state("invoices", 1)]
    )


@pytest.mark.parametrize("kind", ["private_app", "oauth"])
def test_no_secret_appears_in_any_output(kind):
    with make_emulator(access_token_ttl_seconds=3, latency_seconds=0.02) as emu:
        config = private_app_config(emu.url) if kind == "private_app" else oauth_config(emu.url)
        runs = [
            run_connector("check", config),
            run_connector("write", config, sample_lines(emu)),  # rejects one invoice
            run_connector("write", {**config, "api_base_url": "http://127.0.0.1:9"}, []),
        ]
        emu.inject_fault(status=503, times=100)
        runs.append(run_connector("check", config, timeout=120))
        secrets = [PRIVATE_APP_TOKEN, OAUTH_CLIENT_SECRET, OAUTH_REFRESH_TOKEN]
        secrets += issued_access_tokens(emu)
        if kind == "oauth":
            assert issued_access_tokens(emu), "the OAuth run never refreshed"
        assert any(run.errors for run in runs)  # failure paths were exercised
        for run in runs:
            output = run.stdout + run.stderr
            for secret in secrets:
                assert secret not in output
            assert "Bearer " not in output


def test_wrong_credentials_are_not_echoed():
    with make_emulator() as emu:
        for config in (
            private_app_config(emu.url, token="pat-na1-not-a-real-token-value"),
            oauth_config(emu.url, refresh_token="not-a-real-refresh-token-value"),
        ):
            run = run_connector("check", config)
            assert run.status["status"] == "FAILED"
            assert "not-a-real" not in run.stdout + run.stderr


def test_invalid_config_messages_carry_no_values():
    with pytest.raises(ConfigError) as info:
        DestinationConfig.parse(
            {
                "credentials": {
                    "credentials_title": "OAuth Credentials",
                    "client_id": "x",
                    "client_secret": "s3cr3t-value",
                },
                "api_base_url": "http://attacker.example",
            }
        )
    assert "s3cr3t-value" not in str(info.value)
    assert "attacker.example" not in str(info.value)


def test_plain_http_to_a_remote_host_is_refused_for_write_too():
    run = run_connector("write", private_app_config("http://api.hubapi.example"), [])
    assert run.returncode != 0
    (error,) = run.errors
    assert error["failure_type"] == "config_error" and "https" in error["message"]


def test_hostile_lago_values_never_reach_a_url_and_stay_exact_in_json():
    hostile = 'c/../../x?y=1#"z\\\n\u0000\U0001f600'
    with make_emulator() as emu:
        lines = [
            record(
                "customers",
                {
                    "lago_id": hostile,
                    "name": 'Robert"); DROP TABLE--\u202e',
                    "url": "javascript:alert(1)",
                },
            ),
            record(
                "invoices",
                {"lago_id": "i/../1", "status": "finalized", "customer": {"lago_id": hostile}},
            ),
            stream_state("invoices", 1),
        ]
        run = run_connector("write", private_app_config(emu.url), lines)
        assert run.returncode == 0, run.stdout[-3000:]
        for request in emu.requests:  # Lago values travel in bodies only, never in URLs
            url = request["path"] + repr(request["query"])
            assert "DROP" not in url and ".." not in url and "y=1" not in url
        (company,) = [
            c for c in emu.store.objects("companies") if c["properties"].get("lago_customer_id")
        ]
        props = company["properties"]
        assert props["lago_customer_id"] == hostile
        assert props["name"] == 'Robert"); DROP TABLE--\u202e'
        assert "domain" not in props or not props["domain"]  # not a website
        link = props["lago_customer_link"]
        assert link.startswith("https://app.getlago.com/customer/")
        assert re.fullmatch(r"https://app\.getlago\.com/customer/[A-Za-z0-9%._~-]+", link)
