"""Opt-in checks against a real HubSpot portal (never in CI), on the date-based API.

    HUBSPOT_LIVE_TOKEN=<Service Key or pat-…> ./scripts/test -m live \
        integration_tests/hubspot/test_live.py

The token is a Service Key (or a legacy Private App token) with the scopes of
docs/destination-hubspot-lago.md; HUBSPOT_LIVE_API_VERSION picks the API version (default
2026-09).

By default only a dry-run check runs: it reads the portal and changes nothing. With
HUBSPOT_LIVE_WRITE=1 the model is deployed and two clearly named test records are upserted.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tests.support.harness import private_app_config, record, run_connector, stream_state

TOKEN = os.environ.get("HUBSPOT_LIVE_TOKEN", "")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not TOKEN, reason="set HUBSPOT_LIVE_TOKEN to run against a real portal"),
]
API = os.environ.get("HUBSPOT_LIVE_API", "https://api.hubapi.com")
VERSION = os.environ.get("HUBSPOT_LIVE_API_VERSION", "2026-09")


def live_config(**extra):
    return private_app_config(API, token=TOKEN, hubspot_api_version=VERSION, **extra)


def test_live_dry_run_check_reads_the_portal_and_changes_nothing():
    run = run_connector("check", live_config(dry_run=True))
    assert run.status["status"] == "SUCCEEDED", run.status["message"]
    assert TOKEN not in run.stdout + run.stderr


@pytest.mark.skipif(os.environ.get("HUBSPOT_LIVE_WRITE") != "1", reason="set HUBSPOT_LIVE_WRITE=1")
def test_live_write_upserts_test_records_idempotently():
    suffix = uuid.uuid4().hex[:8]
    customer = {"lago_id": f"live-test-{suffix}", "name": f"destination-hubspot-lago test {suffix}"}
    invoice = {
        "lago_id": f"live-test-invoice-{suffix}",
        "number": f"TEST-{suffix}",
        "status": "finalized",
        "currency": "EUR",
        "total_amount_cents": 100,
        "customer": {"lago_id": customer["lago_id"]},
    }
    lines = [
        record("customers", customer),
        record("invoices", invoice),
        stream_state("invoices", 1),
    ]
    config = live_config()
    for _ in range(2):
        run = run_connector("write", config, lines)
        assert run.returncode == 0, run.stdout[-3000:]
        assert len(run.states) == 1
