"""§8 end to end: fake Lago -> the real source-getlago manifest -> the real `write` -> emulator.

Lago lists only active subscriptions to the source, so a subscription terminated between two
syncs simply stops arriving; the connector's own post-sync step must mark its HubSpot record
terminated, and each guard of docs/product.md §8 must hold it back.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.support.fake_lago import FakeLago
from tests.support.fake_lago.data import subscription_record
from tests.support.fake_lago.source_runner import (
    read_with_source_manifest,
    skip_module_without_manifest,
)
from tests.support.harness import STREAMS, make_emulator, private_app_config, run_connector
from tests.support.scenario import linked_sample, with_state_ids

skip_module_without_manifest()

GONE = "sub-globex-enterprise"
EXTRA = 15  # more active subscriptions of one customer, so that a mass change is possible
WAVE = 12  # of them terminated at once (with GONE: 13 of 22 active, more than 10 and 20 %)
OTHER_ORG = "other-org-subscription"


def sample(store):
    """The linked sample plus EXTRA active subscriptions of Gulf Trading."""
    dataset = linked_sample(store)
    gulf = dataset.customer("cust-gulf-trading")
    extra = [
        subscription_record(gulf, f"sub-gulf-extra-{n:02d}", "active", "gulf_semiannual")
        for n in range(EXTRA)
    ]
    return dataclasses.replace(dataset, subscriptions=[*dataset.subscriptions, *extra])


@pytest.fixture(scope="module")
def reads():
    """The source's output before, after GONE ended, and after GONE and a wave ended.

    Read once: the emulator's ids are deterministic, so every fresh portal seeded by
    ``sample`` gets the same links the messages carry.
    """
    with make_emulator() as emu:
        dataset = sample(emu.store)
    with FakeLago(dataset=dataset, api_key="lago-key") as lago:
        before = with_state_ids(read_with_source_manifest(lago.url, "lago-key"))
        gone = lago.terminate_subscription(GONE)["lago_id"]
        one = with_state_ids(read_with_source_manifest(lago.url, "lago-key"))
        wave = [
            lago.terminate_subscription(f"sub-gulf-extra-{n:02d}")["lago_id"] for n in range(WAVE)
        ]
        many = with_state_ids(read_with_source_manifest(lago.url, "lago-key"))
    return {"before": before, "one": one, "many": many, "gone": gone, "wave": wave}


@pytest.fixture
def emu(reads):
    """A portal after a first, complete sync; plus another Lago organisation's active record.

    The other organisation bills Acme too: its record carries its own customer's id and is
    associated with the same HubSpot company, so reconciliation reads it and must leave it.
    """
    with make_emulator() as emulator:
        dataset = sample(emulator.store)
        first = sync(emulator, reads["before"])
        assert summary_line(first) == "terminated subscriptions: 0 marked"
        subs = subscriptions_type(emulator)
        (link,) = dataset.customer("cust-acme")["integration_customers"]
        record = emulator.store.create_object(
            subs,
            {
                "lago_subscription_id": OTHER_ORG,
                "lago_subscription_status": "active",
                "lago_customer_id": "other-organisation-customer",
            },
        )
        emulator.store.associate_default(
            "companies", link["external_customer_id"], subs, record["id"]
        )
        emulator.clear_log()
        yield emulator


def sync(emu, lines, streams=STREAMS, ok=True, **config):
    run = run_connector("write", private_app_config(emu.url, **config), lines, streams)
    if ok:
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run


def summary_line(run):
    """The summary's reconciliation line (the summary is one multi-line log message)."""
    lines = [
        line
        for message in run.logs
        for line in message.splitlines()
        if line.startswith("terminated subscriptions:")
    ]
    assert len(lines) == 1, run.logs[-5:]
    return lines[0]


def subscriptions_type(emu):
    (subs,) = [s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoSubscriptions"]
    return subs


def statuses(emu):
    return {
        r["properties"]["lago_subscription_id"]: r["properties"].get("lago_subscription_status")
        for r in emu.store.objects(subscriptions_type(emu))
    }


def reconciliation_writes(emu):
    """Reconciliation is the only writer of batch/update on LagoSubscriptions."""
    path = f"/{subscriptions_type(emu)}/batch/update"
    return [r for r in emu.mutating_requests() if r["path"].endswith(path)]


def test_a_subscription_terminated_between_two_syncs_ends_terminated(emu, reads):
    gone = reads["gone"]
    before = statuses(emu)
    assert before[gone] == "active" and before[OTHER_ORG] == "active"
    assert not any(gone in line for line in reads["one"])  # it simply stopped arriving

    second = sync(emu, reads["one"])
    assert summary_line(second) == "terminated subscriptions: 1 marked"
    assert statuses(emu) == {**before, gone: "terminated"}  # the other organisation's kept
    (update,) = reconciliation_writes(emu)
    assert update["body"]["inputs"][0]["properties"] == {
        "lago_subscription_status": "terminated",
        "lago_subscription_mrr": "0",
    }

    emu.clear_log()
    third = sync(emu, reads["one"])
    assert summary_line(third) == "terminated subscriptions: 0 marked"
    assert reconciliation_writes(emu) == []
    assert statuses(emu) == {**before, gone: "terminated"}


def cut(lines, how):
    if how == "no_subscriptions_stream":
        return [ln for ln in lines if '"subscriptions"' not in ln]
    if how == "no_state_after_subscriptions":  # the source died after its last subscription
        last = max(i for i, ln in enumerate(lines) if is_subscription_record(ln))
        return lines[: last + 1]
    if how == "empty_subscriptions":
        return [ln for ln in lines if not is_subscription_record(ln)]
    if how == "unreadable_line":  # it may have been a subscription
        return ["{not a message", *lines]
    return lines


def is_subscription_record(line):
    message = json.loads(line)
    return message["type"] == "RECORD" and message["record"]["stream"] == "subscriptions"


@pytest.mark.parametrize(
    "how, config, held_back",
    [
        ("no_subscriptions_stream", {}, "not_in_catalog"),
        ("no_state_after_subscriptions", {}, "incomplete"),
        ("empty_subscriptions", {}, "empty"),
        ("unreadable_line", {}, "incomplete"),
        ("all", {"sync_subscriptions": False}, "sync_subscriptions_off"),
        ("all", {"terminated_subscriptions": "off"}, "off"),
    ],
)
def test_absent_empty_or_broken_streams_leave_every_record_as_it_was(
    emu, reads, how, config, held_back
):
    before = statuses(emu)
    streams = [s for s in STREAMS if how != "no_subscriptions_stream" or s != "subscriptions"]
    run = sync(emu, cut(reads["one"], how), streams, ok=how != "unreadable_line", **config)
    assert summary_line(run).startswith(
        f"terminated subscriptions: 0 marked; held back: {held_back} ("
    )
    assert reconciliation_writes(emu) == []
    assert statuses(emu) == before


def streams_in_order(lines):
    """The same messages, each stream's records and STATEs together, in STREAMS order."""

    def stream_of(line):
        message = json.loads(line)
        if message["type"] == "RECORD":
            return message["record"]["stream"]
        return (
            ((message.get("state") or {}).get("stream") or {})
            .get("stream_descriptor", {})
            .get("name", "")
        )

    order = {name: n for n, name in enumerate(STREAMS)}
    return sorted(lines, key=lambda line: order.get(stream_of(line), len(order)))


def test_a_failed_sync_changes_nothing_even_after_a_complete_subscriptions_stream(emu, reads):
    invoices = next(s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoInvoices")
    refusal = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "correlationId": "c0ffee",
        "category": "MISSING_SCOPES",
        "errors": [{"message": "missing scope", "context": {"requiredGranularScopes": ["x"]}}],
    }
    emu.inject_fault(403, "POST", rf"/{invoices}/batch/upsert$", times=50, body=refusal)
    before = statuses(emu)
    # The source may interleave its streams: put the subscriptions stream (with its STATE)
    # before the first invoice, so that it is complete when the invoices fail.
    run = sync(emu, streams_in_order(reads["one"]), ok=False)
    assert run.returncode != 0 and run.errors
    # The subscriptions stream was checkpointed before the invoices failed.
    assert any(s["stream"]["stream_descriptor"]["name"] == "subscriptions" for s in run.states)
    assert reconciliation_writes(emu) == []
    assert statuses(emu) == before


def test_a_mass_change_is_held_back_with_a_warning_unless_always(emu, reads):
    before = statuses(emu)
    run = sync(emu, reads["many"])
    line = summary_line(run)
    assert line.startswith("terminated subscriptions: 0 marked; held back: mass_change (")
    (warning,) = [
        m["log"]["message"]
        for m in run.of_type("LOG")
        if m["log"]["level"] == "WARN" and "held back" in m["log"]["message"]
    ]
    assert "13 of the 22" in warning and "terminated_subscriptions: always" in warning
    assert reconciliation_writes(emu) == [] and statuses(emu) == before

    run = sync(emu, reads["many"], terminated_subscriptions="always")
    assert summary_line(run) == "terminated subscriptions: 13 marked"
    ended = {reads["gone"], *reads["wave"]}
    assert statuses(emu) == {k: "terminated" if k in ended else v for k, v in before.items()}


def test_dry_run_lists_the_subscription_and_changes_nothing(emu, reads):
    before = statuses(emu)
    run = sync(emu, reads["one"], dry_run=True)
    assert summary_line(run) == f"terminated subscriptions: would mark 1 ({reads['gone']})"
    assert emu.mutating_requests() == []
    assert statuses(emu) == before


def customer_ids(emulator):
    return {r["id"] for t in ("companies", "contacts") for r in emulator.store.objects(t)}


def test_reconciliation_reads_only_what_this_sync_did_not_write(reads):
    """Customers this sync wrote are not looked up by lago_customer_id again (their ids came
    back from the writes), and a record this sync created is not read at all: only this
    sync's own associations, to subscriptions that arrived, can hang on it."""
    with make_emulator() as emulator:
        sample(emulator.store)
        existing = customer_ids(emulator)
        emulator.clear_log()
        first = sync(emulator, reads["before"])
        assert summary_line(first) == "terminated subscriptions: 0 marked"
        created = customer_ids(emulator) - existing
        read = {
            str(i["id"])
            for r in emulator.requests
            if "/crm/associations/" in r["path"] and r["path"].endswith("/batch/read")
            for i in r["body"]["inputs"]
        }
        assert created and read  # the sample has linked customers, whose records existed
        assert not read & created
        assert read <= existing
        by_customer_id = [
            r
            for r in emulator.requests
            if isinstance(r["body"], dict) and r["body"].get("idProperty") == "lago_customer_id"
        ]
        assert by_customer_id == []
