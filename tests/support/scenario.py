"""The sample world used by the end-to-end tests and the demo.

Lago's sample data links two customers to HubSpot records that "already exist"; here
those records are created in the emulator first and the links point at their ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tests.support.fake_lago import sample_dataset
from tests.support.fake_lago.data import Dataset

LINKED = {"cust-acme": "companies", "cust-zoe": "contacts"}


def linked_sample(store: Any) -> Dataset:
    """``sample_dataset()`` whose hand-linked customers point at records seeded in ``store``."""
    dataset = sample_dataset()
    seeded = {
        "cust-acme": store.create_object("companies", {"name": "ACME (created by sales)"}),
        "cust-zoe": store.create_object(
            "contacts", {"email": "zoe.b@personal.example", "firstname": "Zoe"}
        ),
    }
    for customer in dataset.customers:
        record = seeded.get(customer["external_id"])
        for entry in customer.get("integration_customers") or []:
            if record is not None and entry.get("external_customer_id"):
                entry["external_customer_id"] = str(record["id"])
    return dataset


def with_state_ids(messages: Iterable[dict[str, Any]], first_id: int = 1000) -> list[str]:
    """Airbyte's platform adds an ``id`` to every STATE; the echo must keep it."""
    lines = []
    next_id = first_id
    for message in messages:
        if message.get("type") == "STATE":
            message = {**message, "state": {**message["state"], "id": next_id}}
            next_id += 1
        lines.append(json.dumps(message))
    return lines


def hubspot_state(emu):
    """HubSpot's content keyed by Lago ids, comparable across portals (ids, timestamps differ);
    archived (deleted) records and their associations are not content."""
    volatile = ("hs_", "createdate", "lastmodifieddate")
    schemas = {s["objectTypeId"]: s["name"] for s in emu.store.schemas()}
    keys = {"companies": "lago_customer_id", "contacts": "lago_customer_id"}
    keys.update(
        {
            t: "lago_subscription_id" if n == "LagoSubscriptions" else "lago_invoice_id"
            for t, n in schemas.items()
        }
    )
    lago_of = {}
    content = {}
    for object_type, key in keys.items():
        for rec in emu.store.objects(object_type):
            if rec.get("archived"):
                continue
            lago_id = rec["properties"].get(key)
            lago_of[(object_type, rec["id"])] = lago_id
            props = {k: v for k, v in rec["properties"].items() if v and not k.startswith(volatile)}
            content[(schemas.get(object_type, object_type), lago_id)] = props
    for type_id in schemas:
        for from_type, from_id, to_type, to_id, _, _ in emu.store.associations(type_id):
            if (from_type, from_id) not in lago_of:
                continue  # from an archived record
            content[("assoc", lago_of[(from_type, from_id)])] = lago_of.get(
                (("companies" if to_type == "0-2" else "contacts"), to_id)
            )
    return content
