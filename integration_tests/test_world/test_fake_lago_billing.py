"""The fake Lago's billing streams (plans, fees, wallets; docs/product.md §6), read over HTTP and
through Airbyte's real source-getlago manifest, and folded into billing values."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from destination_hubspot_lago.billing.aggregator import BillingAggregator, fee_link
from destination_hubspot_lago.billing.plans import INTERVAL_TO_MONTHLY
from destination_hubspot_lago.records.base import MappingSettings
from tests.support.fake_lago import FakeLago, sample_dataset
from tests.support.fake_lago.source_runner import (
    configured_catalog,
    default_manifest_path,
    load_manifest,
)

KEY = "lago-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
BILLING = ["customers", "subscriptions", "invoices", "plans", "fees", "wallets"]

needs_manifest = pytest.mark.skipif(
    not default_manifest_path().is_file(),
    reason=f"source-getlago manifest not found at {default_manifest_path()} "
    "(set LAGO_MANIFEST_PATH)",
)


@pytest.fixture(scope="module")
def lago():
    with FakeLago(dataset=sample_dataset(), api_key=KEY) as fake:
        yield fake


def declared_fields(stream: str) -> set[str]:
    return set(load_manifest()["schemas"][stream]["properties"])


# ---- HTTP: paths, envelope keys, pagination -------------------------------------------------


@pytest.mark.parametrize("stream", ["plans", "fees", "wallets"])
def test_billing_streams_are_paginated_lists_under_their_name(lago, stream):
    expected = getattr(sample_dataset(), stream)
    seen, page = [], 1
    while page is not None:
        response = requests.get(
            f"{lago.url}/{stream}", headers=AUTH, params={"page": page, "per_page": 2}, timeout=10
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {stream, "meta"}
        seen += body[stream]
        page = body["meta"]["next_page"]
    assert seen == list(expected)
    assert body["meta"]["total_count"] == len(expected)


@needs_manifest
@pytest.mark.parametrize(
    "stream, undeclared",
    [
        ("plans", {"usage_thresholds", "minimum_commitment"}),
        ("fees", {"amount_cents", "precise_amount", "lago_charge_id"}),
        ("wallets", {"credits_ongoing_balance", "ongoing_balance_cents", "priority"}),
    ],
)
def test_records_carry_the_manifests_fields_and_lagos_extra_ones(stream, undeclared):
    # The manifest's fees schema spells one field "amout_cents"; Lago sends "amount_cents".
    declared = declared_fields(stream) - {"amout_cents", "lago_group_id"}
    for record in getattr(sample_dataset(), stream):
        assert declared <= set(record), declared - set(record)
        assert undeclared <= set(record)


# ---- the sample data set is consistent -------------------------------------------------------


def test_sample_plans_cover_every_interval_and_several_currencies():
    data = sample_dataset()
    plans = {p["code"]: p for p in data.plans}
    assert {p["interval"] for p in plans.values()} == set(INTERVAL_TO_MONTHLY)
    assert {p["amount_currency"] for p in plans.values()} >= {"EUR", "JPY", "KWD", "USD"}
    for subscription in data.subscriptions:
        assert subscription["plan_code"] in plans, subscription["external_id"]
    customers = {c["lago_id"]: c for c in data.customers}
    other_currency = [
        s
        for s in data.subscriptions
        if s["status"] == "active"
        and plans[s["plan_code"]]["amount_currency"] != customers[s["lago_customer_id"]]["currency"]
    ]
    assert [s["external_id"] for s in other_currency] == ["sub-zoe-startup"]
    nested = [s for s in data.subscriptions if s.get("plan")]
    assert [s["plan"]["code"] for s in nested] == [nested[0]["plan_code"]]


def test_sample_fees_name_synced_and_unsynced_records():
    data = sample_dataset()
    invoices = {i["lago_id"]: i for i in data.invoices}
    subscriptions = {s["lago_id"]: s for s in data.subscriptions}
    linked = [f for f in data.fees if f["lago_subscription_id"]]
    assert all(f["lago_invoice_id"] in invoices for f in data.fees)
    assert all(f["lago_subscription_id"] in subscriptions for f in linked)
    for fee in linked:
        invoice, subscription = (
            invoices[fee["lago_invoice_id"]],
            subscriptions[fee["lago_subscription_id"]],
        )
        assert (
            fee["lago_customer_id"]
            == invoice["customer"]["lago_id"]
            == subscription["lago_customer_id"]
        )
        assert fee["external_subscription_id"] == subscription["external_id"]
    assert {subscriptions[f["lago_subscription_id"]]["status"] for f in linked} >= {
        "active",
        "terminated",
        "canceled",  # not synced: its link is counted, not made
    }
    assert any(f["lago_subscription_id"] is None for f in data.fees)  # add-on fees


def test_sample_wallets_are_active_and_terminated_with_decimal_string_credits():
    data = sample_dataset()
    customers = {c["lago_id"] for c in data.customers}
    assert {w["status"] for w in data.wallets} == {"active", "terminated"}
    for wallet in data.wallets:
        assert wallet["lago_customer_id"] in customers
        assert isinstance(wallet["credits_balance"], str) and "." in wallet["credits_balance"]


# ---- through the real manifest ---------------------------------------------------------------


def _read_with_manifest(streams: list[str]):
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
        ConcurrentDeclarativeSource,
    )
    from airbyte_cdk.test.entrypoint_wrapper import read

    manifest = load_manifest()
    catalog = ConfiguredAirbyteCatalogSerializer.load(configured_catalog(streams, manifest))
    with FakeLago(dataset=sample_dataset(), api_key=KEY) as fake:
        config = {"api_key": KEY, "api_url": fake.url}
        source = ConcurrentDeclarativeSource(
            catalog=catalog, config=config, state=[], source_config=manifest
        )
        output = read(source, config, catalog)
        paths = {r.path for r in fake.requests}
    assert not output.errors, output.get_formatted_error_message()
    records: dict[str, list[dict]] = {}
    for message in output.records:
        records.setdefault(message.record.stream, []).append(message.record.data)
    states = {
        m.state.stream.stream_descriptor.name for m in output.state_messages if m.state.stream
    }
    return records, states, paths


@pytest.fixture(scope="module")
def manifest_read():
    if not default_manifest_path().is_file():
        pytest.skip(f"source-getlago manifest not found at {default_manifest_path()}")
    return _read_with_manifest(BILLING)


def test_real_manifest_reads_plans_fees_and_wallets(manifest_read):
    records, states, paths = manifest_read
    data = sample_dataset()
    assert {"/api/v1/plans", "/api/v1/fees", "/api/v1/wallets"} <= paths
    assert set(BILLING) <= states  # a STATE per stream: what "received completely" rests on
    for stream in ("plans", "fees", "wallets"):
        expected = {r["lago_id"]: r for r in getattr(data, stream)}
        got = {r["lago_id"]: r for r in records[stream]}
        assert set(got) == set(expected), stream
        for lago_id, record in got.items():
            # The CDK drops top-level nulls; every other value arrives as Lago sent it.
            assert {k: v for k, v in expected[lago_id].items() if v is not None} == record


def test_manifest_records_fold_into_the_expected_billing_values(manifest_read):
    records, states, _ = manifest_read
    aggregator = BillingAggregator(MappingSettings(today=date(2025, 1, 1)))
    for stream, stream_records in records.items():
        for record in stream_records:
            aggregator.add(stream, record)
    pairs = {pair for fee in records["fees"] if (pair := fee_link(fee)) is not None}
    result = aggregator.finalize(states)
    by_name = {c["lago_id"]: c["external_id"] for c in records["customers"]}
    values = {by_name[c.lago_id]: c.properties for c in result.customers}
    assert all(not c.withheld for c in result.customers)

    acme = values["cust-acme"]
    assert acme["lago_billing_currency"] == "EUR"
    assert acme["lago_mrr"] == "199.00"  # business, monthly
    assert acme["lago_active_subscriptions"] == "1"
    assert acme["lago_outstanding_amount"] == "238.80"  # invoice 3 (19900 + 20% tax), unpaid
    assert (acme["lago_overdue_amount"], acme["lago_overdue_invoices"]) == ("238.80", "1")
    assert acme["lago_last_invoice_date"] == "2024-11-01"  # the draft of Dec 31 does not count
    assert acme["lago_wallet_credits_balance"] == "100"
    assert values["cust-globex"]["lago_mrr"] == "750.00"  # nested plan override 9000.00 / 12
    assert values["cust-globex"]["lago_wallet_credits_balance"] == "250.5"  # terminated: out
    assert values["cust-jane-doe"]["lago_mrr"] == "53.08"  # 12.25 × 52 / 12 = 53.0833…
    assert values["cust-initech-kk"]["lago_mrr"] == "400000"  # JPY, quarterly
    assert values["cust-initech-kk"]["lago_outstanding_amount"] == "1320000"
    assert values["cust-gulf-trading"]["lago_mrr"] == "125.500"  # KWD, semiannual
    assert values["cust-gulf-trading"]["lago_wallet_credits_balance"] == "0"  # terminated
    assert values["cust-zoe"]["lago_mrr"] == "0.00"  # its plan is in EUR, it bills in GBP
    assert values["cust-legacy-0007"]["lago_active_subscriptions"] == "0"
    assert result.summary.subscriptions_other_currency == 1

    # The manifest reads active subscriptions only; invoices of every status.
    synced_invoices = {
        i["lago_id"] for i in records["invoices"] if i["status"] in ("finalized", "voided")
    }
    synced_subscriptions = {s["lago_id"] for s in records["subscriptions"]}
    assert {(i, s) for i, s in pairs if i in synced_invoices and s in synced_subscriptions}
    assert [s for _, s in pairs if s not in synced_subscriptions]  # terminated/canceled: not read
    assert any(fee_link(fee) is None for fee in records["fees"])  # add-ons name no subscription
