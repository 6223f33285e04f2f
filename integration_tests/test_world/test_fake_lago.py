"""Tests of the fake Lago API, including a read through Airbyte's real source-getlago manifest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.support.fake_lago import FakeLago, sample_dataset, synthetic_dataset
from tests.support.fake_lago.source_runner import (
    SourceReadError,
    configured_catalog,
    default_manifest_path,
    load_manifest,
    read_with_source_manifest,
)

KEY = "lago-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
REPO = Path(__file__).resolve().parents[2]

needs_manifest = pytest.mark.skipif(
    not default_manifest_path().is_file(),
    reason=f"source-getlago manifest not found at {default_manifest_path()} "
    "(set LAGO_MANIFEST_PATH)",
)

CUSTOMER_FIELDS = {
    "lago_id", "external_id", "name", "firstname", "lastname", "customer_type", "email", "url",
    "phone", "legal_name", "address_line1", "address_line2", "city", "state", "zipcode",
    "country", "tax_identification_number", "currency", "created_at", "updated_at",
    "integration_customers",
}  # fmt: skip
INTEGRATION_FIELDS = {
    "lago_id", "type", "integration_code", "external_customer_id", "targeted_object",
    "sync_with_provider",
}  # fmt: skip
SUBSCRIPTION_FIELDS = {
    "lago_id", "external_id", "lago_customer_id", "external_customer_id", "name", "plan_code",
    "status", "billing_time", "created_at", "started_at", "ending_at", "subscription_at",
    "terminated_at", "trial_ended_at", "canceled_at",
}  # fmt: skip
INVOICE_FIELDS = {
    "lago_id", "sequential_id", "number", "issuing_date", "payment_due_date", "payment_overdue",
    "invoice_type", "status", "payment_status", "currency", "total_amount_cents",
    "total_due_amount_cents", "sub_total_excluding_taxes_amount_cents", "fees_amount_cents",
    "taxes_amount_cents", "file_url", "customer",
}  # fmt: skip


@pytest.fixture(scope="module")
def lago():
    with FakeLago(dataset=sample_dataset(), api_key=KEY) as fake:
        yield fake


def get(lago: FakeLago, path: str, headers=AUTH, **params) -> requests.Response:
    return requests.get(lago.url + path, headers=headers, params=params, timeout=10)


# ---- HTTP behaviour ---------------------------------------------------------------------------


def test_start_returns_api_v1_url(lago):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", lago.url)


def test_pagination_walks_all_pages(lago):
    seen, page, metas = [], 1, []
    while page is not None:
        assert page <= 5, "pagination does not stop"
        body = get(lago, "/customers", page=page, per_page=3).json()
        seen += [c["external_id"] for c in body["customers"]]
        metas.append(body["meta"])
        page = body["meta"]["next_page"]
    assert seen == [c["external_id"] for c in sample_dataset().customers]
    assert [m["current_page"] for m in metas] == [1, 2, 3]
    assert [m["prev_page"] for m in metas] == [None, 1, 2]
    assert metas[-1] == {
        "current_page": 3,
        "next_page": None,
        "prev_page": 2,
        "total_pages": 3,
        "total_count": 8,
    }


def test_page_past_the_end_is_empty(lago):
    body = get(lago, "/invoices", page=9, per_page=10).json()
    assert body["invoices"] == [] and body["meta"]["next_page"] is None
    assert body["meta"]["total_count"] == 20


def test_default_page_size_is_twenty(lago):
    body = get(lago, "/invoices").json()
    assert len(body["invoices"]) == 20 and body["meta"]["next_page"] is None


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}])
def test_wrong_or_missing_key_is_401(lago, headers):
    response = get(lago, "/customers", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": 401, "error": "Unauthorized"}


def test_unknown_path_is_lago_404(lago):
    response = get(lago, "/credit_notes_nope")
    assert response.status_code == 404
    assert response.json()["status"] == 404 and response.json()["error"] == "Not Found"


def test_subscriptions_default_to_active_only(lago):
    body = get(lago, "/subscriptions", external_customer_id="cust-acme").json()
    assert [s["external_id"] for s in body["subscriptions"]] == ["sub-acme-business"]
    assert {s["status"] for s in body["subscriptions"]} == {"active"}


def test_subscriptions_status_filter_returns_others(lago):
    body = get(
        lago,
        "/subscriptions",
        external_customer_id="cust-acme",
        **{"status[]": ["active", "terminated"]},
    ).json()
    statuses = {s["external_id"]: s["status"] for s in body["subscriptions"]}
    assert statuses == {"sub-acme-business": "active", "sub-acme-startup-old": "terminated"}
    pending = get(
        lago, "/subscriptions", external_customer_id="cust-zoe", **{"status[]": "pending"}
    ).json()
    assert [s["external_id"] for s in pending["subscriptions"]] == ["sub-zoe-business"]


def test_subscriptions_with_an_unknown_status_list_every_status(lago):
    # lago-api skips the status filter when a value is not a status (valid_status? false).
    body = get(
        lago,
        "/subscriptions",
        external_customer_id="cust-acme",
        **{"status[]": ["active", "ended"]},
    ).json()
    assert {s["status"] for s in body["subscriptions"]} == {"active", "terminated"}
    bare = get(lago, "/subscriptions", external_customer_id="cust-acme", status="terminated")
    assert {s["status"] for s in bare.json()["subscriptions"]} == {"active"}


def test_a_subscription_terminated_between_two_reads_leaves_the_default_list():
    with FakeLago(dataset=sample_dataset(), api_key=KEY) as own:

        def listed(**params):
            body = get(own, "/subscriptions", external_customer_id="cust-acme", **params).json()
            return {s["external_id"]: s for s in body["subscriptions"]}

        assert set(listed()) == {"sub-acme-business"}
        own.terminate_subscription("sub-acme-business")
        assert listed() == {}
        ended = listed(**{"status[]": "terminated"})["sub-acme-business"]
        assert ended["status"] == "terminated" and ended["terminated_at"]
        with pytest.raises(KeyError):
            own.terminate_subscription("sub-nobody")


def test_subscriptions_need_external_customer_id(lago):
    response = get(lago, "/subscriptions")
    assert response.status_code == 422
    assert "external_customer_id" in response.json()["error_details"]
    unknown = get(lago, "/subscriptions", external_customer_id="nobody").json()
    assert unknown["subscriptions"] == [] and unknown["meta"]["total_count"] == 0


def test_customer_usage(lago):
    ok = get(
        lago, "/customers/cust-acme/current_usage", external_subscription_id="sub-acme-business"
    )
    assert ok.status_code == 200 and ok.json()["customer_usage"]["currency"] == "EUR"
    gone = get(
        lago, "/customers/cust-acme/current_usage", external_subscription_id="sub-acme-startup-old"
    )
    assert gone.status_code == 405 and gone.json()["code"] == "no_active_subscription"


def test_requests_are_logged():
    with FakeLago(dataset=sample_dataset(), api_key=KEY) as fake:
        get(fake, "/plans", per_page=5)
        get(fake, "/plans", headers={})
        assert [(r.path, r.status) for r in fake.requests] == [
            ("/api/v1/plans", 200),
            ("/api/v1/plans", 401),
        ]
        assert fake.requests_to("/plans")[0].query == {"per_page": ["5"]}


# ---- data sets --------------------------------------------------------------------------------


def test_sample_dataset_covers_the_edge_cases():
    data = sample_dataset()
    customers = {c["external_id"]: c for c in data.customers}
    assert len(customers) == 8 and len(data.subscriptions) == 12 and len(data.invoices) == 20
    assert {c["currency"] for c in data.customers} >= {"EUR", "USD", "JPY", "KWD", "GBP"}
    assert {c["customer_type"] for c in data.customers} == {"company", "individual", None}
    assert any("," in (c["email"] or "") for c in data.customers)
    assert any(c["url"] and "://" not in c["url"] for c in data.customers)
    links = [i for c in data.customers for i in c["integration_customers"]]
    assert all(set(i) >= INTEGRATION_FIELDS and i["type"] == "hubspot" for i in links)
    assert any(i["external_customer_id"] for i in links)  # linked to an existing HubSpot record
    assert any(
        i["targeted_object"] == "contacts" and c["customer_type"] == "company"
        for c in data.customers
        for i in c["integration_customers"]
    )
    assert {s["status"] for s in data.subscriptions} == {
        "active",
        "pending",
        "terminated",
        "canceled",
    }
    assert {s["billing_time"] for s in data.subscriptions} == {"calendar", "anniversary"}
    assert {i["status"] for i in data.invoices} >= {"finalized", "voided", "draft", "pending"}
    assert {i["payment_status"] for i in data.invoices} >= {"succeeded", "pending"}
    assert any(i["payment_overdue"] for i in data.invoices)
    assert any(i["payment_due_date"] is None for i in data.invoices)
    assert any(i["issuing_date"] is None for i in data.invoices)
    for invoice in data.invoices:
        assert set(invoice) >= INVOICE_FIELDS
        assert invoice["customer"]["external_id"] in customers
        assert invoice["currency"] == invoice["customer"]["currency"]
    assert sample_dataset() == data  # deterministic


def test_synthetic_dataset_is_large_lazy_and_deterministic():
    started = time.perf_counter()
    data = synthetic_dataset(
        20_000, subscriptions_per_customer=1.5, invoices_per_customer=10, seed=7
    )
    assert time.perf_counter() - started < 5
    assert len(data.customers) == 20_000
    assert 25_000 < len(data.subscriptions) < 35_000
    assert 190_000 < len(data.invoices) < 210_000
    last = data.invoices[-1]
    assert set(last) >= INVOICE_FIELDS and set(last["customer"]) >= CUSTOMER_FIELDS
    again = synthetic_dataset(
        20_000, subscriptions_per_customer=1.5, invoices_per_customer=10, seed=7
    )
    assert again.invoices[123_456] == data.invoices[123_456]
    assert synthetic_dataset(customers=10, seed=8).customers[0] != data.customers[0]


def test_synthetic_subscription_index_matches_a_scan():
    data = synthetic_dataset(customers=50, subscriptions_per_customer=2.3, seed=3)
    scanned = Counter(s["external_customer_id"] for s in data.subscriptions)
    for customer in data.customers:
        subs = data.subscriptions_of(customer["external_id"])
        assert len(subs) == scanned[customer["external_id"]]
        assert all(s["lago_customer_id"] == customer["lago_id"] for s in subs)


# ---- the real source-getlago manifest ---------------------------------------------------------


def _records(messages: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for message in messages:
        if message.get("type") == "RECORD":
            out.setdefault(message["record"]["stream"], []).append(message["record"]["data"])
    return out


def _assert_fields(record: dict, expected: dict, fields: set[str]) -> None:
    """``record`` carries ``expected``'s values for ``fields``.

    The CDK's message serializer (omit_none) drops *top-level* null fields of a record, so a
    field whose Lago value is null may be absent; nested nulls are kept.
    """
    for name in fields:
        if expected[name] is None:
            assert record.get(name) is None, name
        else:
            assert record[name] == expected[name], name


def _check_records(records: dict[str, list[dict]], data) -> None:
    customers = {c["lago_id"]: c for c in data.customers}
    assert [c["external_id"] for c in records["customers"]] == [
        c["external_id"] for c in data.customers
    ]
    for record in records["customers"]:
        _assert_fields(record, customers[record["lago_id"]], CUSTOMER_FIELDS)
    subscriptions = {s["lago_id"]: s for s in data.subscriptions if s["status"] == "active"}
    assert sorted(s["lago_id"] for s in records["subscriptions"]) == sorted(subscriptions)
    for record in records["subscriptions"]:
        _assert_fields(record, subscriptions[record["lago_id"]], SUBSCRIPTION_FIELDS)
    invoices = {i["lago_id"]: i for i in data.invoices}
    assert sorted(i["lago_id"] for i in records["invoices"]) == sorted(invoices)
    for record in records["invoices"]:
        expected = invoices[record["lago_id"]]
        _assert_fields(record, expected, INVOICE_FIELDS - {"customer"})
        assert record["customer"] == expected["customer"]  # nested: nulls kept


@needs_manifest
def test_real_manifest_in_process():
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer
    from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
        ConcurrentDeclarativeSource,
    )
    from airbyte_cdk.test.entrypoint_wrapper import read

    manifest = load_manifest()
    catalog = ConfiguredAirbyteCatalogSerializer.load(
        configured_catalog(["customers", "subscriptions", "invoices"], manifest)
    )
    data = sample_dataset()
    with FakeLago(dataset=data, api_key=KEY) as fake:
        config = {"api_key": KEY, "api_url": fake.url}
        source = ConcurrentDeclarativeSource(
            catalog=catalog, config=config, state=[], source_config=manifest
        )
        output = read(source, config, catalog)
        sub_requests = fake.requests_to("/subscriptions")

    assert not output.errors, output.get_formatted_error_message()
    records: dict[str, list[dict]] = {}
    for message in output.records:
        records.setdefault(message.record.stream, []).append(message.record.data)
    _check_records(records, data)
    acme = next(r for r in records["customers"] if r["external_id"] == "cust-acme")
    assert acme["integration_customers"][0]["external_customer_id"] == "18342759201"
    # top-level nulls are dropped by the CDK serializer, nested ones are not
    legacy = next(r for r in records["customers"] if r["external_id"] == "cust-legacy-0007")
    assert "firstname" not in legacy and "email" not in legacy and "customer_type" not in legacy
    assert legacy["shipping_address"]["city"] is None
    # one subscriptions request per customer, with the manifest's page size
    assert sorted(r.query["external_customer_id"][0] for r in sub_requests) == sorted(
        c["external_id"] for c in data.customers
    )
    assert all(r.query.get("per_page") == ["100"] for r in sub_requests)
    assert all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in sub_requests)


@needs_manifest
def test_real_manifest_stops_sending_a_subscription_once_it_is_terminated():
    def subscription_ids(fake):
        messages = read_with_source_manifest(fake.url, KEY, ["customers", "subscriptions"])
        return {
            m["record"]["data"]["external_id"]
            for m in messages
            if m.get("type") == "RECORD" and m["record"]["stream"] == "subscriptions"
        }

    with FakeLago(dataset=sample_dataset(), api_key=KEY) as fake:
        first = subscription_ids(fake)
        fake.terminate_subscription("sub-globex-enterprise")
        second = subscription_ids(fake)
    assert "sub-globex-enterprise" in first
    assert second == first - {"sub-globex-enterprise"}  # it simply stops arriving


@needs_manifest
def test_real_manifest_subprocess_paginates():
    # 230 customers and ~1,150 invoices: several pages of 100 for every stream
    data = synthetic_dataset(230, subscriptions_per_customer=1.2, invoices_per_customer=5, seed=11)
    with FakeLago(dataset=data, api_key=KEY) as fake:
        messages = read_with_source_manifest(
            fake.url, KEY, ["customers", "subscriptions", "invoices"]
        )
        pages = [r.query.get("page", ["1"])[0] for r in fake.requests_to("/invoices")]
    records = _records(messages)
    _check_records(records, data)
    assert len(pages) == -(-len(data.invoices) // 100)
    states = [m for m in messages if m["type"] == "STATE"]
    assert {s["state"]["stream"]["stream_descriptor"]["name"] for s in states} == {
        "customers",
        "subscriptions",
        "invoices",
    }


@needs_manifest
def test_full_catalog_read_does_not_fail():
    streams = list(load_manifest()["schemas"])
    assert len(streams) == 11
    with FakeLago(dataset=sample_dataset(), api_key=KEY) as fake:
        messages = read_with_source_manifest(fake.url, KEY, streams)
    errors = [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert errors == []
    counts = Counter(r for r, recs in _records(messages).items() for _ in recs)
    assert counts["billable_metrics"] == 2 and counts["customer_usage"] >= 1
    completed = {
        m["trace"]["stream_status"]["stream_descriptor"]["name"]
        for m in messages
        if m["type"] == "TRACE"
        and m["trace"]["type"] == "STREAM_STATUS"
        and m["trace"]["stream_status"]["status"] == "COMPLETE"
    }
    assert completed == set(streams)


@needs_manifest
def test_wrong_key_fails_the_read():
    with (
        FakeLago(dataset=sample_dataset(), api_key=KEY) as fake,
        pytest.raises(SourceReadError) as failure,
    ):
        read_with_source_manifest(fake.url, "not-the-key", ["customers"])
    assert "401" in str(failure.value) or "Unauthorized" in str(failure.value)


# ---- standalone server ------------------------------------------------------------------------


def test_standalone_server():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_lago", "--port", "0", "--size", "25"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/api/v1", line).group(0)
        response = requests.get(f"{url}/customers", headers=AUTH, timeout=10)
        assert response.json()["meta"]["total_count"] == 25
        assert json.loads(response.text)["customers"][0]["external_id"] == "cust-0-000000"
    finally:
        process.terminate()
        process.wait(timeout=10)
