"""One email, one Lago customer per sync (sync/customer_writes.py, ``CustomerClaims``): the
first customer of a sync to use an email owns it, and every later one is written without it
(``lago_billing_email`` keeps it) — before HubSpot sees it, so no contact write carries
another customer's email and no contact holding it is adopted by a second customer.
Over HTTP against the emulator, through the write pipeline."""

from __future__ import annotations

import logging

import pytest

from tests.support.harness import make_emulator, record, stream_state
from tests.support.pipeline import customer, lago_ids, pipeline, run_all

EMAIL = "team@acme.example"


@pytest.fixture
def emu():
    with make_emulator() as emulator:
        yield emulator


def person(i, email=EMAIL, **kw):
    return customer(i, customer_type="individual", email=email, **kw)


def contacts(emu):
    return lago_ids(emu, "contacts", "lago_customer_id")


def contact_writes(emu):
    """Every contact HubSpot was sent to create or update: (lago_customer_id, email)."""
    sent = []
    for request in emu.mutating_requests():
        if "/objects/" in request["path"] and "/0-1/batch/" in request["path"]:
            for item in request["body"].get("inputs", []):
                props = item.get("properties") or {}
                sent.append((props.get("lago_customer_id"), props.get("email")))
    return sent


def test_a_later_customer_is_sent_without_the_email_an_earlier_one_of_the_sync_uses(emu, caplog):
    p, _ = pipeline(emu)
    emu.clear_log()
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        run_all(
            p,
            [
                record("customers", person(1)),
                record("customers", person(2, email=EMAIL.upper())),  # HubSpot ignores case
                stream_state("customers", 1),
            ],
        )
    # HubSpot never received c2 with c1's email, so never refused a batch for it.
    sent = contact_writes(emu)
    assert ("c1", EMAIL) in sent
    assert [email for lago_id, email in sent if lago_id == "c2"] == [None]
    refused = [
        r["status"]
        for r in emu.mutating_requests()
        if "/0-1/batch/" in r["path"] and r["status"] >= 400
    ]
    assert refused == []
    found = contacts(emu)
    assert found["c1"]["properties"]["email"] == EMAIL
    assert not found["c2"]["properties"].get("email")
    assert found["c2"]["properties"]["lago_billing_email"] == EMAIL.upper()
    assert p.report.rejections == []
    assert any(
        "c2 is written without email: Lago customer c1 uses the same email" in r.getMessage()
        for r in caplog.records
    )


def test_a_contact_holding_the_email_is_not_adopted_by_a_second_customer(emu):
    """c1 (linked in Lago to its own contact) uses the email first; a contact nobody owns
    holds it in HubSpot. c2, with the same email, must neither adopt that contact nor take
    the email: it is c1's in this sync."""
    own = emu.store.create_object("contacts", {"firstname": "Own"})
    holder = emu.store.create_object("contacts", {"email": EMAIL, "firstname": "Sales lead"})
    link = [{"type": "hubspot", "external_customer_id": own["id"], "targeted_object": "contacts"}]
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", person(1, integration_customers=link)),
            record("customers", person(2)),
            stream_state("customers", 1),
        ],
    )
    found = contacts(emu)
    assert found["c1"]["id"] == own["id"]
    assert found["c2"]["id"] not in (own["id"], holder["id"])
    assert not found["c2"]["properties"].get("email")
    assert found["c2"]["properties"]["lago_billing_email"] == EMAIL
    held = emu.store.objects("contacts")
    (still_held,) = [c for c in held if c["id"] == holder["id"]]
    assert not still_held["properties"].get("lago_customer_id")  # adopted by nobody
    assert p.report.adopted_contacts == 0
