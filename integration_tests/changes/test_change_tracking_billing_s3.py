"""docs/product.md §10 with the ledger in a real S3-compatible bucket (moto's server, signatures
checked), and with §6's streams: the sample world read by the real source-getlago manifest.
Roll-ups, late plan values and invoice ↔ subscription links are written only where they
changed; HubSpot's contents equal a full rewrite of the same input."""

from __future__ import annotations

import json

import pytest

from tests.support.fake_lago import FakeLago
from tests.support.fake_lago.source_runner import (
    read_with_source_manifest,
    skip_module_without_manifest,
)
from tests.support.harness import make_emulator, private_app_config, run_connector
from tests.support.s3_server import S3Server
from tests.support.scenario import hubspot_state, linked_sample, with_state_ids

skip_module_without_manifest()

STREAMS = ["customers", "subscriptions", "invoices", "plans", "fees", "wallets"]


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


@pytest.fixture(scope="module")
def source():
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        with FakeLago(dataset=dataset, api_key="lago-key") as lago:
            return read_with_source_manifest(lago.url, "lago-key", STREAMS)


def tracking(s3, prefix):
    return {**s3.storage_config(), "bucket_path": prefix}


def sync(emu, messages, **config):
    emu.requests.clear()
    run = run_connector(
        "write", private_app_config(emu.url, **config), with_state_ids(messages), streams=STREAMS
    )
    assert run.returncode == 0, run.stdout[-3000:]
    return run


def full_rewrite(messages):
    with make_emulator() as fresh:
        linked_sample(fresh.store)
        sync(fresh, messages)
        return hubspot_state(fresh)


def changed(messages, stream, lago_id, **fields):
    out = []
    for m in messages:
        record = m.get("record") or {}
        if record.get("stream") == stream and record["data"].get("lago_id") == lago_id:
            m = json.loads(json.dumps(m))
            m["record"]["data"].update(fields)
        out.append(m)
    return out


def test_a_second_sync_of_the_sample_writes_nothing_billing_values_included(s3, source):
    with make_emulator() as emu:
        linked_sample(emu.store)
        first = sync(emu, source, change_tracking=tracking(s3, "t1"))
        assert "invoice-subscription associations" in first.stdout
        second = sync(emu, source, change_tracking=tracking(s3, "t1"))
        assert emu.mutating_requests() == []
        assert "billing values unchanged since the last sync (not written)" in second.stdout
        assert any(k.startswith("t1/ledger/") for k in s3.objects("t1/"))
        assert hubspot_state(emu) == full_rewrite(source)


def test_a_changed_invoice_rewrites_its_record_and_its_customer_roll_ups_only(s3, source):
    invoice = next(
        m["record"]["data"]
        for m in source
        if m["type"] == "RECORD"
        and m["record"]["stream"] == "invoices"
        and m["record"]["data"].get("payment_status") == "succeeded"
        and m["record"]["data"].get("status") == "finalized"
    )
    due = {"payment_status": "pending", "total_due_amount_cents": invoice["total_amount_cents"]}
    later = changed(source, "invoices", invoice["lago_id"], **due)
    with make_emulator() as emu:
        linked_sample(emu.store)
        sync(emu, source, change_tracking=tracking(s3, "t2"))
        sync(emu, later, change_tracking=tracking(s3, "t2"))
        calls = emu.mutating_requests()
        inputs = [i for call in calls for i in call["body"].get("inputs", [])]
        invoices = [i for c in calls if "/batch/upsert" in c["path"] for i in c["body"]["inputs"]]
        assert [i["id"] for i in invoices] == [invoice["lago_id"]]
        # its customer's outstanding amount changed: one roll-up update; nothing else
        rollups = [c for c in calls if c["path"].endswith("/batch/update")]
        assert len(rollups) == 1 and len(rollups[0]["body"]["inputs"]) == 1
        assert len(inputs) == 2
        assert hubspot_state(emu) == full_rewrite(later)


def test_a_ledger_that_cannot_be_saved_leaves_the_sync_successful(s3, source):
    with make_emulator() as emu:
        linked_sample(emu.store)
        wrong = {**tracking(s3, "t3"), "s3_bucket_name": "no-such-bucket"}
        run = sync(emu, source, change_tracking=wrong)
        assert "could not be saved" in run.stdout
        assert "writes all of them again" in run.stdout
        assert s3.storage_config()["secret_access_key"] not in run.stdout + run.stderr
        assert hubspot_state(emu) == full_rewrite(source)
