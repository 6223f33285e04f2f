"""End to end: fake Lago -> the real source-getlago manifest -> our `write` -> the emulator."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.fake_lago import FakeLago
from tests.support.fake_lago.source_runner import (
    read_with_source_manifest,
    skip_module_without_manifest,
)
from tests.support.harness import (
    SECRETS,
    make_emulator,
    oauth_config,
    private_app_config,
    run_connector,
)
from tests.support.scenario import hubspot_state, linked_sample, with_state_ids

skip_module_without_manifest()

STREAMS = ["customers", "subscriptions", "invoices"]


def read_lago(dataset):
    with FakeLago(dataset=dataset, api_key="lago-key") as lago:
        return read_with_source_manifest(lago.url, "lago-key", STREAMS)


def by_property(emu, object_type, prop):
    return {
        r["properties"].get(prop): r
        for r in emu.store.objects(object_type)
        if r["properties"].get(prop)
    }


def upsert_calls(emu):
    return Counter(
        r["path"].split("/")[4]
        for r in emu.mutating_requests()
        if r["path"].endswith("/batch/upsert")
    )


@pytest.fixture
def world():
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        messages = read_lago(dataset)
        yield emu, dataset, messages


def test_sample_sync_fills_hubspot_as_product_md_says(world):
    emu, dataset, messages = world
    lines = with_state_ids(messages)
    run = run_connector("write", private_app_config(emu.url, lago_organization_slug="hooli"), lines)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert run.errors == []

    customers = {c["external_id"]: c for c in dataset.customers}
    companies = by_property(emu, "companies", "lago_customer_id")
    contacts = by_property(emu, "contacts", "lago_customer_id")

    # Linked customer: the existing company was updated, not duplicated.
    acme = companies[customers["cust-acme"]["lago_id"]]
    assert acme["properties"]["name"] == "Acme Corp"
    assert acme["properties"]["domain"] == "acme.example"
    assert acme["properties"]["lago_customer_link"] == (
        f"https://app.getlago.com/hooli/customer/{customers['cust-acme']['lago_id']}"
    )
    assert (
        len(
            [
                r
                for r in emu.store.objects("companies")
                if "ACME" in r["properties"].get("name", "").upper()
            ]
        )
        == 1
    )

    globex = companies[customers["cust-globex"]["lago_id"]]["properties"]
    assert globex["domain"] == "globex.example"  # url without scheme
    assert globex["lago_billing_email"] == "billing@globex.example,finance@globex.example"
    assert globex["address2"] == "3. OG"

    jane = contacts[customers["cust-jane-doe"]["lago_id"]]["properties"]
    assert (jane["email"], jane["firstname"], jane["lastname"]) == (
        "jane.doe@example.com",
        "Jane",
        "Doe",
    )

    # integration_customers.targeted_object beats customer_type (a company sent to contacts).
    brit = customers["cust-brit-ltd"]["lago_id"]
    assert brit in contacts and brit not in companies
    assert contacts[brit]["properties"]["company"] == "Brit Widgets Limited"

    # Linked contact: updated in place (same HubSpot id), email replaced by Lago's.
    zoe = contacts[customers["cust-zoe"]["lago_id"]]
    assert zoe["properties"]["email"] == "zoe@bronte.example"
    assert len(emu.store.objects("contacts")) == 3  # jane, brit, zoe

    # The customer without type goes to the default object.
    assert customers["cust-legacy-0007"]["lago_id"] in companies

    schemas = {s["name"]: s["objectTypeId"] for s in emu.store.schemas()}
    subs = by_property(emu, schemas["LagoSubscriptions"], "lago_subscription_id")
    invoices = by_property(emu, schemas["LagoInvoices"], "lago_invoice_id")
    active = [s for s in dataset.subscriptions if s["status"] == "active"]
    assert set(subs) == {s["lago_id"] for s in active}  # the source only reads active ones
    synced = [i for i in dataset.invoices if i["status"] in ("finalized", "voided")]
    assert set(invoices) == {i["lago_id"] for i in synced}

    initech_invoice = next(i for i in synced if i["currency"] == "JPY")
    assert invoices[initech_invoice["lago_id"]]["properties"]["lago_invoice_total_amount"] == str(
        initech_invoice["total_amount_cents"]
    )
    kwd_invoice = next(i for i in synced if i["currency"] == "KWD")
    kwd_total = invoices[kwd_invoice["lago_id"]]["properties"]["lago_invoice_total_amount"]
    assert kwd_total == f"{kwd_invoice['total_amount_cents'] / 1000:.3f}"

    # Every written subscription and invoice is associated with its customer's record.
    for record_type, records, customer_of in (
        (schemas["LagoSubscriptions"], subs, lambda s: s["lago_customer_id"]),
        (schemas["LagoInvoices"], invoices, lambda i: i["customer"]["lago_id"]),
    ):
        source = {r["lago_id"]: r for r in dataset.subscriptions + list(dataset.invoices)}
        for lago_id, record in records.items():
            customer_lago_id = customer_of(source[lago_id])
            target = companies.get(customer_lago_id) or contacts.get(customer_lago_id)
            targets = {(a[2], a[3]) for a in emu.store.associations(record_type, record["id"])}
            expected_type = "0-2" if customer_lago_id in companies else "0-1"
            assert (expected_type, target["id"]) in targets, (lago_id, targets)

    # States: all echoed, in order, with the platform's id and destination counts.
    source_states = [m["state"] for m in messages if m["type"] == "STATE"]
    assert len(run.states) == len(source_states) >= 3
    assert [s["id"] for s in run.states] == list(range(1000, 1000 + len(source_states)))
    for echoed, original in zip(run.states, source_states, strict=True):
        assert echoed["stream"] == original["stream"]
        assert "recordCount" in echoed["destinationStats"]
    total = sum(s["destinationStats"]["recordCount"] for s in run.states)
    assert total == sum(1 for m in messages if m["type"] == "RECORD")

    for secret in SECRETS:
        assert secret not in run.stdout + run.stderr


def test_second_identical_sync_creates_nothing(world):
    emu, _, messages = world
    lines = with_state_ids(messages)
    first = run_connector("write", private_app_config(emu.url), lines)
    assert first.returncode == 0, first.stdout[-3000:]
    before = emu.store.snapshot()
    emu.clear_log()
    second = run_connector("write", private_app_config(emu.url), lines)
    assert second.returncode == 0, second.stdout[-3000:]
    after = emu.store.snapshot()
    for type_id, records in before["records"].items():
        assert set(after["records"][type_id]) == set(records), type_id
    assert after["associations"] == before["associations"]
    for request in emu.mutating_requests():
        if request["path"].endswith("/batch/upsert"):
            assert all(r["new"] is False for r in request["response"]["results"])
        assert not (
            request["path"].startswith("/crm/objects/")
            and request["path"].endswith("/batch/create")
        )
        assert "/crm-object-schemas/" not in request["path"]


def test_default_targeted_object_contacts_sends_untyped_customers_to_contacts(world):
    emu, dataset, messages = world
    run = run_connector(
        "write",
        private_app_config(emu.url, default_targeted_object="contacts"),
        with_state_ids(messages),
    )
    assert run.returncode == 0, run.stdout[-3000:]
    legacy = next(c for c in dataset.customers if c["external_id"] == "cust-legacy-0007")
    assert legacy["lago_id"] in by_property(emu, "contacts", "lago_customer_id")
    assert legacy["lago_id"] not in by_property(emu, "companies", "lago_customer_id")
    # customer_type still decides for the others.
    globex = next(c for c in dataset.customers if c["external_id"] == "cust-globex")
    assert globex["lago_id"] in by_property(emu, "companies", "lago_customer_id")


def test_oauth_sync_survives_tokens_expiring_mid_sync():
    with make_emulator(access_token_ttl_seconds=1, latency_seconds=0.2) as emu:
        dataset = linked_sample(emu.store)
        messages = read_lago(dataset)
        run = run_connector("write", oauth_config(emu.url), with_state_ids(messages))
        assert run.returncode == 0, run.stdout[-3000:]
        refreshes = [r for r in emu.requests if r["path"] == "/oauth/2026-09/token"]
        assert len(refreshes) >= 2
        assert len(run.states) == sum(1 for m in messages if m["type"] == "STATE")
        for secret in SECRETS:
            assert secret not in run.stdout + run.stderr


def test_dry_run_plans_without_a_single_mutating_call(world):
    emu, _, messages = world
    emu.clear_log()
    run = run_connector(
        "write", private_app_config(emu.url, dry_run=True), with_state_ids(messages)
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert emu.mutating_requests() == []
    summary = next(line for line in run.logs if line.startswith("Dry run plan"))
    assert "would create" in summary
    assert len(run.states) == sum(1 for m in messages if m["type"] == "STATE")


def test_faults_and_rate_limit_pressure_end_in_the_same_hubspot_as_a_clean_run():
    with make_emulator() as clean:
        dataset = linked_sample(clean.store)
        messages = read_lago(dataset)
        assert (
            run_connector(
                "write", private_app_config(clean.url), with_state_ids(messages)
            ).returncode
            == 0
        )
        expected = hubspot_state(clean)
    with make_emulator(
        fault_rate=0.15, fault_seed=3, rate_limit_max=8, rate_limit_interval_ms=1000
    ) as faulty:
        dataset = linked_sample(faulty.store)
        for status in (429, 429, 503, 423, "reset"):
            faulty.inject_fault(status=status, method="POST", path_regex=r"/batch/", times=1)
        run = run_connector("write", private_app_config(faulty.url), with_state_ids(messages))
        assert run.returncode == 0, run.stdout[-3000:]
        assert sum(1 for r in faulty.requests if r["status"] in (423, 429, 502, 503, 504)) >= 4
        assert len(run.states) == sum(1 for m in messages if m["type"] == "STATE")
        actual = hubspot_state(faulty)
    # The seeded linked records differ only by HubSpot id; everything else must be equal.
    assert actual == expected


def test_a_rotated_refresh_token_is_handed_to_the_platform():
    with make_emulator(rotate_refresh_tokens=True) as emu:
        config = oauth_config(emu.url)
        for _ in range(2):  # the second run must work with the token the first one received
            run = run_connector("check", config)
            assert run.status["status"] == "SUCCEEDED", run.status
            controls = run.of_type("CONTROL")
            assert len(controls) == 1
            config = controls[0]["control"]["connectorConfig"]["config"]
            assert (
                config["credentials"]["refresh_token"]
                != oauth_config(emu.url)["credentials"]["refresh_token"]
            )
