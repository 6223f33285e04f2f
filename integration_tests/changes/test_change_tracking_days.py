"""docs/product.md §10: an unchanged Lago record is compared as received, with what its mapping
takes besides it — the day among them: an invoice that fell overdue overnight is written again
although Lago sent the very same record; and a subscription whose plan changed in the plans
stream is written again with its new plan values. And what an unchanged invoice needs (its
customer, its roll-up fields) is read without the rest of its line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from destination_hubspot_lago.airbyte.incoming import RecordData, parse_lines, to_json
from destination_hubspot_lago.changes import tracking as change_tracking
from destination_hubspot_lago.changes.store import LocalLedgerStore
from destination_hubspot_lago.config import DestinationConfig
from destination_hubspot_lago.connector import build_pipeline, mapping_settings, prepare
from destination_hubspot_lago.hubspot.batches import BatchWriter
from tests.support.harness import private_app_config, record, stream_state
from tests.support.pipeline import customer, invoice, lago_ids, subscription

DUE = "2026-12-10"
LINES = [
    record("customers", customer(1)),
    stream_state("customers", 1),
    record("invoices", invoice(1, "c1", payment_status="pending", payment_due_date=DUE)),
    record("invoices", invoice(2, "c1", payment_status="succeeded", payment_due_date=DUE)),
    stream_state("invoices", 2),
]


def sync_on(emu, ledger_dir, day: date, lines=LINES):
    config = DestinationConfig.parse(private_app_config(emu.url))
    client, deployment = prepare(config)
    identity = change_tracking.SyncIdentity(str(deployment.portal_id), "", "v1", None)
    settings = replace(mapping_settings(config), today=day)
    writer = BatchWriter(client, deployment.object_type_ids)
    store = LocalLedgerStore(ledger_dir)
    tracking = change_tracking.begin(store, identity, 7, writer, settings)
    try:
        pipeline = build_pipeline(config, client, deployment, tracking=tracking)
        emu.requests.clear()
        out = [json.loads(json.dumps(to_json(m))) for m in pipeline.run(parse_lines(lines))]
        tracking.save()
    finally:
        tracking.close()
    return out


def upserted(emu) -> list[str]:
    return [
        i["id"]
        for e in emu.mutating_requests()
        if e["path"].endswith("/batch/upsert")
        for i in e["body"]["inputs"]
    ]


def test_a_record_that_maps_differently_on_a_new_day_is_written_again(emulator, tmp_path):
    emu = emulator
    ledger_dir = tmp_path / "ledger"
    sync_on(emu, ledger_dir, date(2026, 12, 9))
    overdue = {k: r["properties"]["lago_invoice_payment_overdue"] for k, r in _invoices(emu)}
    assert overdue == {"i1": "false", "i2": "false"}
    sync_on(emu, ledger_dir, date(2026, 12, 9))  # the same day: nothing to write
    assert upserted(emu) == []
    sync_on(emu, ledger_dir, date(2026, 12, 11))  # i1 is now past due and unpaid
    assert upserted(emu) == ["i1"]
    overdue = {k: r["properties"]["lago_invoice_payment_overdue"] for k, r in _invoices(emu)}
    assert overdue == {"i1": "true", "i2": "false"}
    sync_on(emu, ledger_dir, date(2026, 12, 12))  # maps as yesterday: nothing to write
    assert upserted(emu) == []


def _invoices(emu):
    schemas = {s["name"]: s["objectTypeId"] for s in emu.store.schemas()}
    return lago_ids(emu, schemas["LagoInvoices"], "lago_invoice_id").items()


def _plan_lines(amount_cents: int) -> list[str]:
    plan = {
        "lago_id": "p1",
        "code": "pro",
        "name": "Pro",
        "interval": "monthly",
        "amount_cents": amount_cents,
        "amount_currency": "EUR",
    }
    return [
        record("customers", customer(1)),
        stream_state("customers", 1),
        record("plans", plan),
        stream_state("plans", 1),
        record("subscriptions", subscription(1, "c1")),  # plan_code "pro", no nested plan
        stream_state("subscriptions", 1),
    ]


def test_a_subscription_whose_plan_changed_is_written_again(emulator, tmp_path):
    emu = emulator
    ledger_dir = tmp_path / "ledger"
    day = date(2026, 12, 9)
    sync_on(emu, ledger_dir, day, _plan_lines(1000))
    assert _mrr(emu) == {"s1": "10.00"}
    sync_on(emu, ledger_dir, day, _plan_lines(1000))
    assert upserted(emu) == []
    sync_on(emu, ledger_dir, day, _plan_lines(2000))  # the very same subscription record
    assert upserted(emu) == ["s1"]
    assert _mrr(emu) == {"s1": "20.00"}
    sync_on(emu, ledger_dir, day, _plan_lines(2000))
    assert upserted(emu) == []


def _mrr(emu):
    schemas = {s["name"]: s["objectTypeId"] for s in emu.store.schemas()}
    found = lago_ids(emu, schemas["LagoSubscriptions"], "lago_subscription_id")
    return {k: r["properties"].get("lago_subscription_mrr") for k, r in found.items()}


def test_an_unchanged_invoice_is_not_read_whole(emulator, tmp_path, monkeypatch):
    """The reader keeps a record's data as text: an unchanged invoice is compared, associated
    and rolled up from the fields it needs, and not read whole (an invoice's line holds its
    whole customer) — but for the few the drift sample takes (a reservoir of 100, whose
    properties are kept to be read back); a changed one is read whole and written. Without a
    ledger to compare with, every record is read whole at once, and by nothing else. (The
    roll-ups of invoices read this way: integration_tests/billing, whose input is lines too.)"""
    read_whole: list[int] = []  # the input line numbers of the records read whole
    whole = RecordData.whole

    def counted(data: RecordData) -> dict:
        if data._whole is None:
            read_whole.append(data.number)
        return whole(data)

    monkeypatch.setattr(RecordData, "whole", counted)
    views: list[int] = []  # the records read by the fields they are compared by
    view = RecordData.view

    def counted_view(data: RecordData, decoder) -> object:
        views.append(data.number)
        return view(data, decoder)

    monkeypatch.setattr(RecordData, "view", counted_view)
    nested = {"lago_id": "c1", "name": "Acme", "billing_configuration": {"sync": False}}
    count = 2_000  # invoices, lines 3 to 2002

    def lines(due_cents: int) -> list[str]:
        pending = invoice(2, "c1", payment_status="pending", total_due_amount_cents=due_cents)
        invoices = [{**invoice(n, "c1"), "customer": nested} for n in range(1, count + 1)]
        invoices[1] = {**pending, "customer": nested}  # line 4
        invoices[2] = {**invoices[2], "status": "draft"}  # line 5: skipped, by its fields
        return [
            record("customers", customer(1)),  # line 1: a customer is mapped every sync
            stream_state("customers", 1),
            *(record("invoices", one) for one in invoices),
            stream_state("invoices", 2),
        ]

    ledger_dir, day = tmp_path / "ledger", date(2026, 12, 9)
    sync_on(emu := emulator, ledger_dir, day, lines(500))
    # no ledger yet: every record is mapped, so each is read whole at once, and only so
    assert len(read_whole) == 1 + count and views == []
    read_whole.clear()
    sync_on(emu, ledger_dir, day, lines(500))
    assert upserted(emu) == [] and read_whole[0] == 1 and len(set(views)) == count
    assert 5 not in read_whole  # a draft is never written, so never compared: skipped unread
    # the drift sample takes some 100 × (1 + ln 20) ≈ 400 of them, each read whole once
    assert len(read_whole) - 1 < count / 2
    read_whole.clear()
    sync_on(emu, ledger_dir, day, lines(700))
    assert upserted(emu) == ["i2"] and 4 in read_whole and len(read_whole) - 2 < count / 2
    assert 5 not in read_whole
