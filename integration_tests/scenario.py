"""The sample world used by the end-to-end tests and the demo.

Lago's sample data links two customers to HubSpot records that "already exist"; here
those records are created in the emulator first and the links point at their ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from integration_tests.fake_lago import sample_dataset
from integration_tests.fake_lago.data import Dataset

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
