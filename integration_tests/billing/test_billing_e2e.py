"""docs/product.md §6 end to end: fake Lago -> the real source-getlago manifest (six streams) ->
our `write` -> the emulator. Plan values on subscriptions, invoice <-> subscription
associations, customer roll-ups — and HubSpot keeping its values when a stream is missing,
cut short, or the sync fails."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import iso4217
import pytest

from tests.support.fake_lago import FakeLago
from tests.support.fake_lago.source_runner import (
    read_with_source_manifest,
    skip_module_without_manifest,
)
from tests.support.harness import make_emulator, private_app_config, run_connector
from tests.support.scenario import linked_sample, with_state_ids

skip_module_without_manifest()

STREAMS = ["customers", "subscriptions", "invoices", "plans", "fees", "wallets"]
MONTHLY = {"weekly": (52, 12), "monthly": (1, 1), "quarterly": (1, 3), "semiannual": (1, 6)}
MONTHLY["yearly"] = (1, 12)
ROLLUPS = (
    "lago_billing_currency",
    "lago_mrr",
    "lago_active_subscriptions",
    "lago_outstanding_amount",
    "lago_overdue_amount",
    "lago_overdue_invoices",
    "lago_last_invoice_date",
    "lago_wallet_credits_balance",
)
PLAN_PROPS = (
    "lago_plan_name",
    "lago_plan_interval",
    "lago_plan_amount",
    "lago_subscription_currency",
    "lago_subscription_mrr",
)
SENTINEL = "4242"


@pytest.fixture(scope="module")
def source():
    """The six streams as the real manifest reads them (once for the module; the linked
    customers' HubSpot ids are rewritten per emulator, see ``world``)."""
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        with FakeLago(dataset=dataset, api_key="lago-key") as lago:
            return dataset, read_with_source_manifest(lago.url, "lago-key", STREAMS)


@pytest.fixture
def world(source):
    dataset, messages = source
    with make_emulator() as emu:
        # Seed the linked records again: the same ids as in the module's emulator.
        linked_sample(emu.store)
        yield emu, dataset, messages


def sync(emu, messages, streams=STREAMS, **config):
    run = run_connector(
        "write", private_app_config(emu.url, **config), with_state_ids(messages), streams=streams
    )
    return run


def only(messages, streams):
    keep = []
    for m in messages:
        if m["type"] == "RECORD" and m["record"]["stream"] not in streams:
            continue
        if (
            m["type"] == "STATE"
            and m["state"]["stream"]["stream_descriptor"]["name"] not in streams
        ):
            continue
        keep.append(m)
    return keep


def schemas(emu):
    return {s["name"]: s["objectTypeId"] for s in emu.store.schemas()}


def by(emu, object_type, prop):
    return {
        r["properties"][prop]: r
        for r in emu.store.objects(object_type)
        if r["properties"].get(prop)
    }


def customer_records(emu):
    return {**by(emu, "companies", "lago_customer_id"), **by(emu, "contacts", "lago_customer_id")}


def amount(cents, currency):
    exponent = iso4217.Currency(currency).exponent or 0
    value = Decimal(cents) / (Decimal(10) ** exponent)
    return f"{value:.{exponent}f}"


def expected_plan_values(dataset, subscription):
    plans = {p["code"]: p for p in dataset.plans}
    plan = subscription.get("plan") or plans[subscription["plan_code"]]
    numerator, denominator = MONTHLY[plan["interval"]]
    exact = Decimal(plan["amount_cents"]) * numerator / denominator
    mrr = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if subscription["status"] != "active":
        mrr = 0
    currency = plan["amount_currency"]
    return {
        "lago_plan_name": plan["name"],
        "lago_plan_interval": plan["interval"],
        "lago_plan_amount": amount(plan["amount_cents"], currency),
        "lago_subscription_currency": currency,
        "lago_subscription_mrr": amount(mrr, currency),
    }


def set_sentinels(emu, object_type, records, properties):
    for record in records.values():
        emu.store.update_record(
            object_type, record["id"], {"properties": {p: SENTINEL for p in properties}}
        )


def cut_before_state_of(messages, stream):
    """The input as a crashed source leaves it: everything up to ``stream``'s STATE, no more."""
    for index, m in enumerate(messages):
        if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == stream:
            return messages[:index]
    raise AssertionError(f"no STATE for {stream}")


# ---- the full sync --------------------------------------------------------------------------


def test_six_streams_put_the_billing_values_on_every_record(world):
    emu, dataset, messages = world
    run = sync(emu, messages)
    assert run.returncode == 0, run.stdout[-4000:]
    names = schemas(emu)

    # Every synced subscription carries its plan values, to the minor unit.
    subs = by(emu, names["LagoSubscriptions"], "lago_subscription_id")
    active = [s for s in dataset.subscriptions if s["status"] == "active"]
    assert set(subs) == {s["lago_id"] for s in active}
    for subscription in active:
        props = subs[subscription["lago_id"]]["properties"]
        assert {p: props.get(p) for p in PLAN_PROPS} == expected_plan_values(
            dataset, subscription
        ), subscription["external_id"]
        assert props["lago_customer_id"] == subscription["lago_customer_id"]

    # Each synced invoice is associated with each synced subscription its fees name, once.
    invoices = by(emu, names["LagoInvoices"], "lago_invoice_id")
    expected_pairs = {
        (f["lago_invoice_id"], f["lago_subscription_id"])
        for f in dataset.fees
        if f.get("lago_subscription_id") in subs and f.get("lago_invoice_id") in invoices
    }
    assert expected_pairs
    made = set()
    lago_sub = {r["id"]: k for k, r in subs.items()}
    for lago_id, record in invoices.items():
        links = [
            a
            for a in emu.store.associations(names["LagoInvoices"], record["id"])
            if a[2] == names["LagoSubscriptions"]
        ]
        assert all(a[5] == "USER_DEFINED" for a in links)
        made |= {(lago_id, lago_sub[a[3]]) for a in links}
    assert made == expected_pairs
    # Typed with the definition the model deployed, never HubSpot's default association.
    labels = emu.store.list_labels(names["LagoInvoices"], names["LagoSubscriptions"])["results"]
    type_ids = {label["typeId"] for label in labels if not label.get("label")}
    calls = [
        r
        for r in emu.mutating_requests()
        if f"/{names['LagoInvoices']}/{names['LagoSubscriptions']}/" in r["path"]
    ]
    assert calls and all(r["path"].endswith("/batch/create") for r in calls)
    assert all(len(r["body"]["inputs"]) <= 100 for r in calls)
    assert {
        t["associationTypeId"] for r in calls for i in r["body"]["inputs"] for t in i["types"]
    } == type_ids
    # A fee naming the canceled subscription (not synced) made nothing, and was counted.
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    assert f"{len(expected_pairs)} invoice-subscription associations" in summary
    assert "naming a subscription not in HubSpot: " in summary

    # Every customer of the sync carries its roll-ups.
    customers = customer_records(emu)
    values = {c["external_id"]: customers[c["lago_id"]]["properties"] for c in dataset.customers}
    acme = values["cust-acme"]
    assert {p: acme.get(p) for p in ROLLUPS} == {
        "lago_billing_currency": "EUR",
        "lago_mrr": "199.00",
        "lago_active_subscriptions": "1",
        "lago_outstanding_amount": "238.80",  # invoice 3 (19900 + 20 % tax), unpaid
        "lago_overdue_amount": "238.80",
        "lago_overdue_invoices": "1",
        "lago_last_invoice_date": "2024-11-01",  # the draft of Dec 31 does not count
        "lago_wallet_credits_balance": "100",
    }
    assert values["cust-globex"]["lago_mrr"] == "750.00"  # nested plan 9000.00 / 12
    assert values["cust-globex"]["lago_wallet_credits_balance"] == "250.5"
    assert values["cust-jane-doe"]["lago_mrr"] == "53.08"  # 12.25 x 52 / 12, half-up
    assert values["cust-initech-kk"]["lago_mrr"] == "400000"  # JPY, quarterly
    assert values["cust-initech-kk"]["lago_outstanding_amount"] == "1320000"
    assert values["cust-gulf-trading"]["lago_mrr"] == "125.500"  # KWD, semiannual
    assert values["cust-gulf-trading"]["lago_wallet_credits_balance"] == "0"  # terminated
    assert values["cust-zoe"]["lago_mrr"] == "0.00"  # EUR plan, bills in GBP
    legacy = values["cust-legacy-0007"]
    assert (legacy["lago_active_subscriptions"], legacy["lago_mrr"]) == ("0", "0.00")

    # The invoice amounts agree with the invoices written, customer by customer.
    for customer in dataset.customers:
        own = [
            invoices[i["lago_id"]]["properties"]
            for i in dataset.invoices
            if i["customer"]["lago_id"] == customer["lago_id"]
            and i["status"] == "finalized"
            and i["payment_status"] != "succeeded"
            and i["currency"] == values[customer["external_id"]]["lago_billing_currency"]
        ]
        overdue = [p for p in own if p.get("lago_invoice_payment_overdue") == "true"]
        got = values[customer["external_id"]]
        assert int(got["lago_overdue_invoices"]) == len(overdue), customer["external_id"]
        total = sum(Decimal(p["lago_invoice_total_due_amount"]) for p in own)
        assert Decimal(got["lago_outstanding_amount"]) == total, customer["external_id"]
        for p in ROLLUPS:
            if p != "lago_last_invoice_date":
                assert got.get(p) not in (None, ""), (customer["external_id"], p)


def test_a_second_sync_changes_nothing(world):
    emu, _, messages = world
    assert sync(emu, messages).returncode == 0
    first_links = link_calls(emu)
    before = emu.store.snapshot()
    emu.clear_log()
    second = sync(emu, messages)
    assert second.returncode == 0, second.stdout[-3000:]
    after = emu.store.snapshot()
    assert after["associations"] == before["associations"]
    # The same typed links were asked for again, with the ids the updates answered.
    assert first_links and link_calls(emu) == first_links
    for type_id, records in before["records"].items():
        assert set(after["records"][type_id]) == set(records), type_id
        for record_id, (props, archived) in records.items():
            new_props, new_archived = after["records"][type_id][record_id]
            assert new_archived == archived
            changed = {
                k: (props.get(k), v)
                for k, v in new_props.items()
                if props.get(k) != v and not k.startswith("hs_") and k != "lastmodifieddate"
            }
            assert not changed, (type_id, record_id, changed)


def test_subscriptions_after_their_plans_get_the_same_values(world, source):
    """The sample order is subscriptions before plans (a later update); plans first also works."""
    emu, dataset, messages = world
    first = sync(emu, messages)
    assert first.returncode == 0
    names = schemas(emu)
    deferred_order = {
        k: r["properties"]
        for k, r in by(emu, names["LagoSubscriptions"], "lago_subscription_id").items()
    }
    # The late plan values went out as batch upserts of just those properties, <= 100 each.
    late = [
        r
        for r in emu.mutating_requests()
        if r["path"].endswith(f"{names['LagoSubscriptions']}/batch/upsert")
        and all(set(i["properties"]) <= set(PLAN_PROPS) for i in r["body"]["inputs"])
    ]
    assert late and all(len(r["body"]["inputs"]) <= 100 for r in late)
    assert all(i["idProperty"] == "lago_subscription_id" for r in late for i in r["body"]["inputs"])
    assert all(
        r["response"]["results"] and not any(x["new"] for x in r["response"]["results"])
        for r in late
    )

    with make_emulator() as other:
        linked_sample(other.store)
        plans = [m for m in messages if _stream(m) == "plans"]
        reordered = plans + [m for m in messages if _stream(m) != "plans"]
        assert sync(other, reordered).returncode == 0
        other_names = schemas(other)
        plans_first = {
            k: r["properties"]
            for k, r in by(other, other_names["LagoSubscriptions"], "lago_subscription_id").items()
        }
        assert not [
            r
            for r in other.mutating_requests()
            if r["path"].endswith(f"{other_names['LagoSubscriptions']}/batch/upsert")
            and all(set(i["properties"]) <= set(PLAN_PROPS) for i in r["body"]["inputs"])
        ]
    for lago_id, props in deferred_order.items():
        assert {p: props.get(p) for p in PLAN_PROPS} == {
            p: plans_first[lago_id].get(p) for p in PLAN_PROPS
        }


def link_calls(emu):
    """The inputs of the invoice -> subscription association calls, in order."""
    names = schemas(emu)
    path = f"/{names['LagoInvoices']}/{names['LagoSubscriptions']}/batch/create"
    return [r["body"]["inputs"] for r in emu.mutating_requests() if r["path"].endswith(path)]


def _stream(message):
    if message["type"] == "RECORD":
        return message["record"]["stream"]
    if message["type"] == "STATE":
        return message["state"]["stream"]["stream_descriptor"]["name"]
    return None


# ---- what an incomplete input leaves alone ----------------------------------------------------


@pytest.fixture
def synced_with_sentinels(world):
    """A full sync, then every billing value overwritten in HubSpot with a sentinel: what
    the next sync writes shows, what it leaves alone keeps the sentinel."""
    emu, dataset, messages = world
    assert sync(emu, messages).returncode == 0
    names = schemas(emu)
    subs = by(emu, names["LagoSubscriptions"], "lago_subscription_id")
    number_plan_props = ("lago_plan_amount", "lago_subscription_mrr", "lago_plan_name")
    set_sentinels(emu, names["LagoSubscriptions"], subs, number_plan_props)
    rollups = [p for p in ROLLUPS if p not in ("lago_billing_currency", "lago_last_invoice_date")]
    for obj in ("companies", "contacts"):
        set_sentinels(emu, obj, by(emu, obj, "lago_customer_id"), rollups)
    emu.clear_log()
    return emu, dataset, messages, names


def rollup_values(emu, prop):
    return {k: r["properties"].get(prop) for k, r in customer_records(emu).items()}


def plan_values(emu, names, prop):
    subs = by(emu, names["LagoSubscriptions"], "lago_subscription_id")
    return {k: r["properties"].get(prop) for k, r in subs.items()}


def test_without_plans_mrr_and_plan_values_are_left_alone(synced_with_sentinels):
    emu, dataset, messages, names = synced_with_sentinels
    streams = [s for s in STREAMS if s != "plans"]
    run = sync(emu, only(messages, streams), streams=streams)
    assert run.returncode == 0, run.stdout[-3000:]
    mrr = rollup_values(emu, "lago_mrr")
    # A customer with an active subscription whose plan is not nested needs the plans
    # stream for its MRR; one whose plans are all nested (or with none active) does not.
    needs_plans = {
        s["lago_customer_id"]
        for s in dataset.subscriptions
        if s["status"] == "active" and not s.get("plan")
    }
    assert needs_plans and {mrr[c] for c in needs_plans} == {SENTINEL}
    assert SENTINEL not in {v for c, v in mrr.items() if c not in needs_plans}
    # Globex's subscription nests its plan: its values need no plans stream.
    plan_amounts = plan_values(emu, names, "lago_plan_amount")
    assert "9000.00" in plan_amounts.values()
    assert [v for v in plan_amounts.values() if v != "9000.00"] and all(
        v == SENTINEL for v in plan_amounts.values() if v != "9000.00"
    )
    # What does not derive from plans is written.
    assert SENTINEL not in rollup_values(emu, "lago_outstanding_amount").values()
    assert SENTINEL not in rollup_values(emu, "lago_wallet_credits_balance").values()
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    assert "plans (plan values" in summary  # "not selected", naming what is missing
    assert any(line.startswith("Stream plans is not in the catalog") for line in run.logs)


def test_without_invoices_the_invoice_values_are_left_alone(synced_with_sentinels):
    emu, _, messages, _ = synced_with_sentinels
    streams = [s for s in STREAMS if s != "invoices"]
    run = sync(emu, only(messages, streams), streams=streams)
    assert run.returncode == 0, run.stdout[-3000:]
    for prop in ("lago_outstanding_amount", "lago_overdue_amount", "lago_overdue_invoices"):
        assert set(rollup_values(emu, prop).values()) == {SENTINEL}, prop
    assert SENTINEL not in rollup_values(emu, "lago_mrr").values()
    assert SENTINEL not in rollup_values(emu, "lago_active_subscriptions").values()


def test_input_cut_before_a_streams_state_leaves_its_values_alone(synced_with_sentinels):
    emu, _, messages, _ = synced_with_sentinels
    cut = cut_before_state_of(messages, "wallets")  # wallets come last: the rest is complete
    run = sync(emu, cut)
    assert run.returncode == 0, run.stdout[-3000:]
    assert set(rollup_values(emu, "lago_wallet_credits_balance").values()) == {SENTINEL}
    assert SENTINEL not in rollup_values(emu, "lago_mrr").values()
    assert SENTINEL not in rollup_values(emu, "lago_outstanding_amount").values()


def test_a_sync_failing_midway_writes_no_rollup(synced_with_sentinels):
    emu, _, messages, names = synced_with_sentinels
    missing = {
        "status": "error",
        "category": "MISSING_SCOPES",
        "message": "This app hasn't been granted all required scopes to make this call.",
    }
    emu.inject_fault(
        status=403,
        method="POST",
        path_regex=rf"/{names['LagoInvoices']}/batch/upsert$",
        times=100,
        body=missing,
    )
    run = sync(emu, messages)
    assert run.returncode != 0 or run.errors
    for prop in ("lago_mrr", "lago_wallet_credits_balance", "lago_active_subscriptions"):
        assert set(rollup_values(emu, prop).values()) == {SENTINEL}, prop
    assert not [
        r for r in emu.mutating_requests() if "lago_wallet_credits_balance" in str(r["body"])
    ]


def test_refused_rollups_are_reported_and_do_not_fail_the_sync(world):
    emu, _, messages = world
    assert sync(emu, messages).returncode == 0
    # The companies' batch/update calls before the roll-ups (write-scope probe, linked
    # records) pass; every one after them is refused.
    before = [
        r
        for r in emu.requests
        if r["path"].endswith("/0-2/batch/update") and "lago_mrr" not in str(r["body"])
    ]
    emu.clear_log()
    emu.inject_fault(status="timeout", delay=0, path_regex=r"/0-2/batch/update$", times=len(before))
    refusal = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: lago_mrr",
    }
    emu.inject_fault(
        status=400, method="POST", path_regex=r"/0-2/batch/update$", times=1000, body=refusal
    )
    run = sync(emu, messages)
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.errors == []
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    refused = int(summary.split("refused by HubSpot: ")[1].split()[0])
    assert refused >= 1
    assert any("HubSpot refused the roll-ups" in line for line in run.logs)


def test_dry_run_reports_the_rollups_and_links_it_would_write(world):
    emu, _, messages = world
    assert sync(emu, messages).returncode == 0
    emu.clear_log()
    run = sync(emu, messages, dry_run=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert emu.mutating_requests() == []
    summary = next(line for line in run.logs if line.startswith("Dry run plan"))
    line = next(li for li in summary.splitlines() if li.startswith("billing values planned"))
    assert "roll-ups of 8 customers" in line
    assert " 0 invoice-subscription associations" not in line
    json.dumps(line)  # plain text


def test_customers_rejected_in_this_sync_get_no_rollups(world):
    emu, dataset, messages = world
    # An admin rule refuses new companies: only the linked one (an update) is written.
    emu.store.require_on_create("companies", "industry")
    run = sync(emu, messages)
    assert run.returncode == 0  # rejected records are reported, they do not fail the sync (§7)
    rollup_writes = [
        i["id"]
        for r in emu.mutating_requests()
        if r["path"].endswith("/0-2/batch/update") and "lago_mrr" in str(r["body"])
        for i in r["body"]["inputs"]
    ]
    acme = next(c for c in dataset.customers if c["external_id"] == "cust-acme")
    companies = by(emu, "companies", "lago_customer_id")
    assert rollup_writes == [companies[acme["lago_id"]]["id"]]
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    assert "customers rejected in this sync: no roll-ups written" in summary


# ---- invoice <-> subscription links -----------------------------------------------------------


def invoice_links(emu):
    """(Lago invoice id, Lago subscription id) of every LagoInvoices -> LagoSubscriptions
    association in HubSpot."""
    names = schemas(emu)
    invoices = by(emu, names["LagoInvoices"], "lago_invoice_id")
    lago_sub = {
        r["id"]: k for k, r in by(emu, names["LagoSubscriptions"], "lago_subscription_id").items()
    }
    return {
        (lago_id, lago_sub[a[3]])
        for lago_id, record in invoices.items()
        for a in emu.store.associations(names["LagoInvoices"], record["id"])
        if a[2] == names["LagoSubscriptions"]
    }


def fee_pairs(dataset):
    return [
        (f["lago_invoice_id"], f["lago_subscription_id"])
        for f in dataset.fees
        if f.get("lago_invoice_id") and f.get("lago_subscription_id")
    ]


def synced_ids(dataset):
    """The invoices and subscriptions a sync of the whole sample writes (the manifest reads
    active subscriptions only; draft and pending invoices are skipped by the status rules)."""
    invoices = {i["lago_id"] for i in dataset.invoices if i["status"] in ("finalized", "voided")}
    subscriptions = {s["lago_id"] for s in dataset.subscriptions if s["status"] == "active"}
    return invoices, subscriptions


def expected_links(dataset, invoices=None, subscriptions=None):
    default_invoices, default_subscriptions = synced_ids(dataset)
    invoices = default_invoices if invoices is None else invoices
    subscriptions = default_subscriptions if subscriptions is None else subscriptions
    return {(i, s) for i, s in fee_pairs(dataset) if i in invoices and s in subscriptions}


def lago_id_reads(emu, object_type, id_property):
    """The Lago ids a sync read from ``object_type`` by ``id_property`` (batch/read)."""
    calls = [
        r
        for r in emu.requests
        if r["path"].endswith(f"/{object_type}/batch/read")
        and r["body"].get("idProperty") == id_property
    ]
    assert all(len(r["body"]["inputs"]) <= 100 for r in calls)
    return [i["id"] for r in calls for i in r["body"]["inputs"]]


def summary_of(run):
    return next(line for line in run.logs if line.startswith(("Sync summary", "Dry run plan")))


def is_record(message, stream, lago_id):
    record = message.get("record") or {}
    return record.get("stream") == stream and record["data"].get("lago_id") == lago_id


def with_changes(message, changes):
    record = message["record"]
    return {**message, "record": {**record, "data": {**record["data"], **changes}}}


def edited(messages, stream, lago_id, changes):
    """The input with one record of ``stream`` changed (a copy; ``messages`` stays as it is)."""
    return [with_changes(m, changes) if is_record(m, stream, lago_id) else m for m in messages]


def duplicated_before(messages, stream, lago_id, changes):
    """The input with an earlier version of one record (``changes`` applied) just before it."""
    out = []
    for m in messages:
        if is_record(m, stream, lago_id):
            out.append(with_changes(m, changes))
        out.append(m)
    return out


def test_links_use_the_ids_this_sync_wrote_without_reading_them(world):
    emu, dataset, messages = world
    run = sync(emu, messages)
    assert run.returncode == 0, run.stdout[-3000:]
    names = schemas(emu)
    expected = expected_links(dataset)
    assert expected and invoice_links(emu) == expected
    # Not one invoice read by its Lago id; of the subscriptions, only those the fees name
    # that this sync did not write (terminated, canceled: not in the source's stream).
    assert lago_id_reads(emu, names["LagoInvoices"], "lago_invoice_id") == []
    _, written = synced_ids(dataset)
    not_written = {s for _, s in fee_pairs(dataset)} - written
    assert not_written
    read = lago_id_reads(emu, names["LagoSubscriptions"], "lago_subscription_id")
    assert set(read) == not_written
    assert f"{len(expected)} invoice-subscription associations" in summary_of(run)


def test_records_an_earlier_sync_wrote_are_read_and_linked(world):
    emu, dataset, messages = world
    without_fees = [s for s in STREAMS if s != "fees"]
    assert sync(emu, only(messages, without_fees), streams=without_fees).returncode == 0
    assert invoice_links(emu) == set()
    emu.clear_log()
    # The second sync has the fees but not the invoices: those are in HubSpot from the first.
    without_invoices = [s for s in STREAMS if s != "invoices"]
    run = sync(emu, only(messages, without_invoices), streams=without_invoices)
    assert run.returncode == 0, run.stdout[-3000:]
    expected = expected_links(dataset)
    assert expected and invoice_links(emu) == expected
    names = schemas(emu)
    read = lago_id_reads(emu, names["LagoInvoices"], "lago_invoice_id")
    assert sorted(read) == sorted({i for i, _ in fee_pairs(dataset)})  # each once
    _, written = synced_ids(dataset)  # the subscriptions this sync wrote again: not read
    assert not set(lago_id_reads(emu, names["LagoSubscriptions"], "lago_subscription_id")) & (
        written
    )
    assert f"{len(expected)} invoice-subscription associations" in summary_of(run)


def test_records_skipped_or_rejected_in_this_sync_are_not_linked(world):
    """Each of them is in HubSpot from an earlier sync: being readable is not enough."""
    emu, dataset, messages = world
    without_fees = [s for s in STREAMS if s != "fees"]
    assert sync(emu, only(messages, without_fees), streams=without_fees).returncode == 0
    invoices, subscriptions = synced_ids(dataset)
    customer = {c["external_id"]: c["lago_id"] for c in dataset.customers}
    active = {
        s["lago_customer_id"]: s["lago_id"]
        for s in dataset.subscriptions
        if s["status"] == "active"
    }
    pairs = fee_pairs(dataset)
    refused = active[customer["cust-acme"]]  # HubSpot refuses its update: rejected
    skipped = next(i for i, s in pairs if s == active[customer["cust-globex"]])  # now a draft
    resent = next(i for i, s in pairs if s == active[customer["cust-gulf-trading"]])
    changed = edited(messages, "subscriptions", refused, {"billing_time": "fortnightly"})
    changed = edited(changed, "invoices", skipped, {"status": "draft"})
    # A version the mapping rejects, then a valid one: the last version wins, and is linked.
    changed = duplicated_before(changed, "invoices", resent, {"total_amount_cents": "abc"})
    emu.clear_log()
    run = sync(emu, changed)
    assert run.returncode == 0, run.stdout[-3000:]
    summary = summary_of(run)
    assert "rejected records: 2" in summary  # the refused subscription, the unmappable version

    kept_invoices, kept_subscriptions = invoices - {skipped}, subscriptions - {refused}
    expected = expected_links(dataset, kept_invoices, kept_subscriptions)
    links = invoice_links(emu)
    assert links == expected
    assert any(i == resent for i, _ in links)
    assert not any(i == skipped or s == refused for i, s in links)
    # Counted, not an error: fees naming an invoice or subscription not linked.
    unknown_invoice = sum(1 for i, _ in pairs if i not in kept_invoices)
    unknown_subscription = sum(1 for _, s in pairs if s not in kept_subscriptions)
    assert (
        f"fees naming an invoice not in HubSpot: {unknown_invoice}; "
        f"naming a subscription not in HubSpot: {unknown_subscription} "
    ) in summary
    assert run.errors == []


def test_a_subscription_hubspot_refuses_still_counts_in_its_customers_mrr(world):
    """Roll-ups are Lago's truth: a refused record is rejected, its customer's MRR is not."""
    emu, dataset, messages = world
    acme = next(c["lago_id"] for c in dataset.customers if c["external_id"] == "cust-acme")
    refused = next(
        s["lago_id"]
        for s in dataset.subscriptions
        if s["lago_customer_id"] == acme and s["status"] == "active"
    )
    run = sync(emu, edited(messages, "subscriptions", refused, {"billing_time": "fortnightly"}))
    assert run.returncode == 0, run.stdout[-3000:]
    names = schemas(emu)
    assert refused not in by(emu, names["LagoSubscriptions"], "lago_subscription_id")
    assert "rejected records: 1" in summary_of(run)
    values = customer_records(emu)[acme]["properties"]
    assert (values["lago_mrr"], values["lago_active_subscriptions"]) == ("199.00", "1")


def test_dry_run_counts_the_links_of_records_it_would_create(world):
    emu, dataset, messages = world
    # Nothing is in HubSpot yet: every invoice and subscription would be created.
    run = sync(emu, messages, dry_run=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert emu.mutating_requests() == []
    assert "LagoInvoices" not in schemas(emu)  # not even the model was deployed
    expected = expected_links(dataset)
    line = next(
        li for li in summary_of(run).splitlines() if li.startswith("billing values planned")
    )
    assert f"; {len(expected)} invoice-subscription associations;" in line
    # What the real sync then makes is what the dry run planned.
    real = sync(emu, messages)
    assert real.returncode == 0
    assert len(invoice_links(emu)) == len(expected)
