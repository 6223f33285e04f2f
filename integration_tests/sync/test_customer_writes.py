"""Customers that need more than an upsert: links, shared and refused emails (over HTTP)."""

from __future__ import annotations

import pytest
import requests

from destination_hubspot_lago.hubspot.pacing import HEADROOM
from tests.support.harness import PRIVATE_APP_TOKEN, make_emulator, record, stream_state
from tests.support.pipeline import customer, invoice, lago_ids, pipeline, run_all


@pytest.fixture
def emu():
    with make_emulator() as emulator:
        yield emulator


def person(i, email, **kw):
    return customer(i, customer_type="individual", email=email, **kw)


def contacts(emu):
    return lago_ids(emu, "contacts", "lago_customer_id")


def test_two_customers_sharing_a_held_email_adopt_it_once(emu):
    held = emu.store.create_object("contacts", {"email": "shared@acme.example"})
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", person(1, "shared@acme.example")),
            record("customers", person(2, "shared@acme.example")),
            stream_state("customers", 1),
        ],
    )
    found = contacts(emu)
    assert set(found) == {"c1", "c2"}
    assert found["c1"]["id"] == held["id"]  # the first adopts the existing contact
    assert "email" not in found["c2"]["properties"] or not found["c2"]["properties"]["email"]
    assert found["c2"]["properties"]["lago_billing_email"] == "shared@acme.example"
    assert p.report.rejections == []


def test_two_new_customers_sharing_an_email_are_both_written(emu):
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", person(1, "team@acme.example")),
            record("customers", person(2, "team@acme.example")),
            stream_state("customers", 1),
        ],
    )
    assert set(contacts(emu)) == {"c1", "c2"}
    assert p.report.rejections == []


def test_email_changed_in_lago_to_a_held_email_is_not_a_conflict(emu):
    p, _ = pipeline(emu)
    run_all(p, [record("customers", person(1, "old@acme.example")), stream_state("customers", 1)])
    emu.store.create_object("contacts", {"email": "new@acme.example"})
    for _ in range(2):
        p, _ = pipeline(emu)
        run_all(
            p, [record("customers", person(1, "new@acme.example")), stream_state("customers", 2)]
        )
        assert p.report.rejections == []
    assert (
        len(
            [
                c
                for c in emu.store.objects("contacts")
                if c["properties"].get("lago_customer_id") == "c1"
            ]
        )
        == 1
    )


def test_an_email_hubspot_refuses_does_not_cost_the_contact(emu):
    p, _ = pipeline(emu)
    run_all(p, [record("customers", person(1, "broken@@acme")), stream_state("customers", 1)])
    assert "c1" in contacts(emu)
    assert p.report.rejections == []


def test_two_customers_linked_to_one_record_are_reported(emu):
    target = emu.store.create_object("companies", {"name": "Shared"})
    link = [
        {"type": "hubspot", "external_customer_id": target["id"], "targeted_object": "companies"}
    ]
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", customer(1, integration_customers=link)),
            record("customers", customer(2, integration_customers=link)),
            stream_state("customers", 1),
        ],
    )
    assert set(lago_ids(emu, "companies", "lago_customer_id")) == {"c1"}
    (rejection,) = p.report.rejections
    assert rejection.lago_id == "c2" and rejection.category == "LINK_CONFLICT"
    assert "both linked" in rejection.message


def test_linking_after_an_unlinked_sync_explains_the_duplicate(emu):
    p, _ = pipeline(emu)
    run_all(p, [record("customers", customer(1)), stream_state("customers", 1)])
    target = emu.store.create_object("companies", {"name": "Picked by sales"})
    link = [
        {"type": "hubspot", "external_customer_id": target["id"], "targeted_object": "companies"}
    ]
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", customer(1, integration_customers=link)),
            stream_state("customers", 2),
        ],
    )
    (rejection,) = p.report.rejections
    assert "Merge that record" in rejection.message


def test_a_property_deleted_after_deployment_stops_the_sync_without_bisecting(emu):
    p, deployment = pipeline(emu)
    inv_type = deployment.object_type_ids["invoices"]
    requests.delete(
        f"{emu.url}/crm/v3/properties/{inv_type}/lago_invoice_currency",
        headers={"Authorization": f"Bearer {PRIVATE_APP_TOKEN}"},
        timeout=5,
    ).raise_for_status()
    emu.clear_log()
    lines = [record("invoices", invoice(i, "c1")) for i in range(100)] + [
        stream_state("invoices", 1)
    ]
    with pytest.raises(Exception, match="redeploys the model"):
        run_all(p, lines)
    upserts = [r for r in emu.requests if r["path"].endswith("/batch/upsert")]
    assert len(upserts) == 1


def test_a_refused_association_is_reported(emu):
    p, _ = pipeline(emu)
    emu.inject_fault(
        status=400,
        method="POST",
        path_regex=r"/crm/associations/[^/]+/[^/]+/[^/]+/batch/create$",
        times=1,
        body={
            "status": "error",
            "message": "one or more associations are not valid",
            "correlationId": "x",
            "category": "VALIDATION_ERROR",
        },
    )
    out = run_all(
        p,
        [
            record("customers", customer(1)),
            record("invoices", invoice(1, "c1")),
            stream_state("invoices", 1),
        ],
    )
    # The invoice is in HubSpot: a refused association is reported, not a rejected record.
    assert out[0]["state"]["destinationStats"]["rejectedRecordCount"] == 0
    assert p.report.rejections == []
    (refused,) = p.report.refused_associations
    assert refused.category == "ASSOCIATION_FAILED" and refused.lago_id == "i1"


def test_sustained_burst_429s_are_absorbed():
    with make_emulator(rate_limit_max=50, rate_limit_interval_ms=1000) as emu:
        p, deployment = pipeline(emu)
        emu.inject_fault(status=429, method="POST", path_regex=r"/batch/upsert$", times=4)
        run_all(
            p,
            [
                record("customers", customer(1)),
                record("invoices", invoice(1, "c1")),
                stream_state("invoices", 1),
            ],
        )
        assert "i1" in lago_ids(emu, deployment.object_type_ids["invoices"], "lago_invoice_id")
        assert p.client.stats.rate_limited == 4


def test_a_429_lowers_the_budget_every_thread_shares():
    with make_emulator() as emu:
        p, _ = pipeline(emu)
        emu.inject_fault(status=429, method="POST", path_regex=r"/batch/upsert$", times=1)
        run_all(p, [record("customers", customer(1)), stream_state("customers", 1)])
        assert "c1" in lago_ids(emu, "companies", "lago_customer_id")
        # One pacer below every worker: the 429 paused it and lowered its share. Compared with
        # the window HubSpot named less others' calls, as the lane reads both now: a budget
        # read before the run would hold a different count of others' calls (they come and go).
        lane = p.client.pacer.lane()
        assert lane.headers_seen
        unpenalised = max(1, int(lane.hubspot_max * HEADROOM) - lane.others)
        assert p.client.pacer.budget[0] < unpenalised


@pytest.mark.parametrize("linked_first", [True, False])
def test_a_linked_contact_is_never_adopted_by_another_customer(emu, linked_first):
    held = emu.store.create_object("contacts", {"email": "x@acme.example"})
    link = [{"type": "hubspot", "external_customer_id": held["id"], "targeted_object": "contacts"}]
    linked = record("customers", person(1, "x@acme.example", integration_customers=link))
    other = record("customers", person(2, "x@acme.example"))
    lines = [linked, other] if linked_first else [other, linked]
    p, _ = pipeline(emu)
    run_all(p, lines + [stream_state("customers", 1)])
    found = contacts(emu)
    assert found["c1"]["id"] == held["id"]  # the link wins, whatever the order
    assert found["c2"]["id"] != held["id"]
    assert p.report.rejections == []


def test_a_linked_contact_whose_email_hubspot_refuses_is_updated_without_it(emu):
    held = emu.store.create_object("contacts", {"email": "held@acme.example"})
    target = emu.store.create_object("contacts", {"firstname": "Target"})
    link = [
        {"type": "hubspot", "external_customer_id": target["id"], "targeted_object": "contacts"}
    ]
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", person(1, "held@acme.example", integration_customers=link)),
            stream_state("customers", 1),
        ],
    )
    assert contacts(emu)["c1"]["id"] == target["id"]
    assert p.report.rejections == []
    assert held["id"] not in {c["id"] for c in contacts(emu).values()}


def test_a_token_answer_without_an_access_token_is_a_clear_failure():
    from tests.support.harness import oauth_config, run_connector

    with make_emulator() as emulator:
        emulator.inject_fault(
            status=200, path_regex=r"^/oauth/2026-09/token$", times=5, body={"token_type": "bearer"}
        )
        run = run_connector("check", oauth_config(emulator.url))
        assert run.status["status"] == "FAILED"
        assert "without an access token" in run.status["message"]
