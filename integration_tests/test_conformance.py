"""Every request our client sends, and every answer the emulator gives, matches HubSpot's specs.

The official OpenAPI files are read from ../shared/reference/hubspot-openapi (or
$HUBSPOT_OPENAPI_DIR). Where real HubSpot is known to differ from its own spec, the
difference is listed below with its source; nothing else is tolerated.
"""

from __future__ import annotations

import re

import pytest

from integration_tests.conftest import make_emulator
from integration_tests.harness import (
    oauth_config,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from integration_tests.openapi_conformance import OpenApiCatalog, SpecsMissing
from integration_tests.scenario import linked_sample

try:
    CATALOG = OpenApiCatalog.load()
except SpecsMissing as missing:
    pytest.skip(f"HubSpot OpenAPI specs not available: {missing}", allow_module_level=True)

# Endpoints HubSpot documents outside the OpenAPI collection.
NOT_IN_SPECS = {("POST", "/oauth/v2/private-apps/get/access-token-info")}

# Real HubSpot answers that its spec types more strictly (notes/hubspot_api.md §4.2, §3.8).
KNOWN_DEVIATIONS = [
    # Unlabeled association types come back with "label": null.
    re.compile(r"\.label: None is not of type 'string'"),
    # Requested properties without a value come back as null.
    re.compile(r"\.properties\.\w+: None is not of type 'string'"),
]
GATEWAY_STATUSES = {502, 504}  # HTML pages from HubSpot's edge, not JSON


def problems_in(emulator) -> list[str]:
    found = []
    for req in emulator.requests:
        method, path = req["method"], req["path"]
        if CATALOG.find(method, path) is None:
            if (method, path) not in NOT_IN_SPECS:
                found.append(f"{method} {path}: not an endpoint of the published API")
            continue
        content_type = {k.lower(): v for k, v in req["headers"].items()}.get("content-type")
        issues = CATALOG.validate_request(method, path, req["body"], content_type)
        if req["status"] is not None and req["status"] not in GATEWAY_STATUSES:
            issues += CATALOG.validate_response(method, path, req["status"], req["response"])
        found += [
            f"{method} {path} ({req['status']}): {issue}"
            for issue in issues
            if not any(p.search(issue) for p in KNOWN_DEVIATIONS)
        ]
    return found


def test_check_and_write_traffic_conforms_to_the_official_specs():
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        emu.store.create_object("contacts", {"email": "jane.doe@example.com"})  # adopted: 207 read
        bad = dict(dataset.subscriptions[0], lago_id="sub-bad-option", billing_time="weekly")
        lines = (
            [record("customers", c) for c in dataset.customers]
            + [record("subscriptions", s) for s in [*dataset.subscriptions, bad]]
            + [record("invoices", i) for i in dataset.invoices]
            + [stream_state("invoices", 1)]
        )
        # Exercise error answers too: rate limit, outage, lock, gateway.
        emu.inject_fault(status=429, method="POST", path_regex=r"/batch/upsert$", times=1)
        emu.inject_fault(status=503, method="POST", path_regex=r"/batch/upsert$", times=1)
        emu.inject_fault(
            status=423, method="POST", path_regex=r"/batch/associate/default$", times=1
        )
        emu.inject_fault(status=502, method="POST", path_regex=r"/batch/read$", times=1)
        assert run_connector("check", oauth_config(emu.url)).status["status"] == "SUCCEEDED"
        run = run_connector("write", private_app_config(emu.url), lines)
        assert "sub-bad-option" in run.errors[0]["message"]  # rejected, reported
        statuses = {r["status"] for r in emu.requests}
        assert {200, 201, 207, 400, 423, 429, 503} <= statuses, statuses
        assert problems_in(emu) == []


def test_terminated_subscription_reconciliation_traffic_conforms():
    from destination_hubspot_lago.config import DestinationConfig
    from destination_hubspot_lago.destination import prepare
    from destination_hubspot_lago.reconcile import StreamFacts, reconcile_terminated

    with make_emulator() as emu:
        client, deployment = prepare(DestinationConfig.parse(private_app_config(emu.url)))
        subs = deployment.object_type_ids["subscriptions"]
        assert subs
        company = emu.store.create_object("companies", {"lago_customer_id": "c1"})["id"]
        for n in range(3):
            record_id = emu.store.create_object(
                subs, {"lago_subscription_id": f"s{n}", "lago_subscription_status": "active"}
            )["id"]
            emu.store.associate_default("companies", company, subs, record_id)
        emu.clear_log()
        outcome = reconcile_terminated(
            client,
            subscriptions_type_id=subs,
            seen_customers={"c1", "c-not-in-hubspot"},
            arrived_subscriptions={"s0"},
            facts=StreamFacts(in_catalog=True, enabled=True, complete=True, records=1),
            mode="reconcile",
        )
        assert sorted(outcome.marked) == ["s1", "s2"]
        assert {r["path"].rsplit("/", 1)[-1] for r in emu.requests} == {"read", "update"}
        assert problems_in(emu) == []


def test_the_validator_catches_a_malformed_body():
    """Guard against a conformance test that cannot fail."""
    problems = CATALOG.validate_request(
        "POST", "/crm/v3/objects/2-1/batch/upsert", {"inputs": [{"properties": "nope"}]}
    )
    assert problems
