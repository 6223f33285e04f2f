"""Every request our client sends, and every answer the emulator gives, matches HubSpot's specs
of the date-based API version 2026-09, and nothing goes to a numbered (v1–v4) path.

The official OpenAPI files are read from ../shared/reference/hubspot-openapi/2026-09 (or
$HUBSPOT_OPENAPI_DIR/2026-09). Where real HubSpot is known to differ from its own spec, the
difference is listed below with its source; nothing else is tolerated.
"""

from __future__ import annotations

import re

import pytest

from tests.support.harness import (
    PRIVATE_APP_TOKEN,
    make_emulator,
    oauth_config,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.hubspot_emulator import ALL_SCOPES
from tests.support.openapi_conformance import OpenApiCatalog, SpecsMissing
from tests.support.scenario import linked_sample

VERSION = "2026-09"
try:
    CATALOG = OpenApiCatalog.load_version(VERSION)
    LEGACY = OpenApiCatalog.load()
except SpecsMissing as missing:
    pytest.skip(f"HubSpot OpenAPI specs not available: {missing}", allow_module_level=True)

SERVICE_KEY = "sk-na1-00000000-aaaa-bbbb-cccc-000000000000"
NUMBERED_PATH = re.compile(r"/v\d+(/|$)")

# Real HubSpot answers that its spec types more strictly (notes/hubspot_api.md §4.2, §3.8).
KNOWN_DEVIATIONS = [
    # Unlabeled association types come back with "label": null.
    re.compile(r"\.label: None is not of type 'string'"),
    # Requested properties without a value come back as null.
    re.compile(r"\.properties\.\w+: None is not of type 'string'"),
]
# The 2026-09 token operation declares only an error answer; its 200 is the v3 token
# response (same operation, "post-/oauth/2026-09/token_/oauth/v3/token"), checked there.
SUCCESS_FROM_LEGACY = {("POST", f"/oauth/{VERSION}/token"): "/oauth/v3/token"}
GATEWAY_STATUSES = {502, 504}  # HTML pages from HubSpot's edge, not JSON
# A refused record is answered per record (200 with errors[]) or with a 400 for the whole batch.
BATCH_MODES = ["per_record", "whole_batch"]


def refusal_answers(emulator, mode) -> bool:
    """The traffic holds the answer of that mode to a refused record."""
    if mode == "whole_batch":
        return any(r["status"] == 400 for r in emulator.requests)
    return any(
        r["status"] == 200 and (r["response"] or {}).get("numErrors") for r in emulator.requests
    )


def problems_in(emulator) -> list[str]:
    found = []
    for req in emulator.requests:
        method, path = req["method"], req["path"]
        if NUMBERED_PATH.search(path):
            found.append(f"{method} {path}: a numbered-version path")
            continue
        if CATALOG.find(method, path) is None:
            found.append(f"{method} {path}: not an endpoint of the {VERSION} API")
            continue
        content_type = {k.lower(): v for k, v in req["headers"].items()}.get("content-type")
        issues = CATALOG.validate_request(method, path, req["body"], content_type)
        status = req["status"]
        if status is not None and status not in GATEWAY_STATUSES:
            legacy = SUCCESS_FROM_LEGACY.get((method, path))
            if legacy and status < 400:
                issues += LEGACY.validate_response(method, legacy, status, req["response"])
            else:
                issues += CATALOG.validate_response(method, path, status, req["response"])
        found += [
            f"{method} {path} ({status}): {issue}"
            for issue in issues
            if not any(p.search(issue) for p in KNOWN_DEVIATIONS)
        ]
    return found


def _full_sync_lines(emu):
    dataset = linked_sample(emu.store)
    emu.store.create_object("contacts", {"email": "jane.doe@example.com"})  # adopted: 207 read
    bad = dict(dataset.subscriptions[0], lago_id="sub-bad-option", billing_time="weekly")
    return (
        [record("customers", c) for c in dataset.customers]
        + [record("subscriptions", s) for s in [*dataset.subscriptions, bad]]
        + [record("invoices", i) for i in dataset.invoices]
        + [stream_state("invoices", 1)]
    )


@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("auth", ["service_key", "oauth"])
def test_full_sync_traffic_is_all_2026_09_and_conforms_to_its_specs(auth, mode):
    with make_emulator(service_keys={SERVICE_KEY: ALL_SCOPES}, batch_record_errors=mode) as emu:
        lines = _full_sync_lines(emu)
        # Exercise error answers too: rate limit, outage, lock, gateway.
        emu.inject_fault(status=429, method="POST", path_regex=r"/batch/upsert$", times=1)
        emu.inject_fault(status=503, method="POST", path_regex=r"/batch/upsert$", times=1)
        emu.inject_fault(status=423, method="POST", path_regex=r"/batch/create$", times=1)
        emu.inject_fault(status=502, method="POST", path_regex=r"/batch/read$", times=1)
        config = (
            private_app_config(emu.url, token=SERVICE_KEY)
            if auth == "service_key"
            else oauth_config(emu.url)
        )
        assert run_connector("check", config).status["status"] == "SUCCEEDED"
        run = run_connector("write", config, lines)
        assert run.returncode == 0 and run.errors == [], run.stdout[-3000:]
        assert any("sub-bad-option" in line for line in run.logs)  # rejected, reported
        assert run.states, "the state was not echoed"
        paths = [r["path"] for r in emu.requests]
        assert paths and all(f"/{VERSION}/" in p for p in paths), [
            p for p in paths if f"/{VERSION}/" not in p
        ]
        statuses = {r["status"] for r in emu.requests}
        assert {200, 201, 423, 429, 503} <= statuses, statuses
        assert refusal_answers(emu, mode)
        assert problems_in(emu) == []


def test_terminated_subscription_reconciliation_traffic_conforms():
    from destination_hubspot_lago.config import DestinationConfig
    from destination_hubspot_lago.connector import prepare
    from destination_hubspot_lago.hubspot.batches import BatchWriter
    from destination_hubspot_lago.terminations.job import Terminations
    from destination_hubspot_lago.terminations.plan import StreamFacts, SyncSeen
    from tests.support.jobs import run_jobs

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
        run = Terminations(
            BatchWriter(client, deployment.object_type_ids),
            SyncSeen(
                customers=frozenset({"c1", "c-not-in-hubspot"}),
                subscriptions=frozenset({"s0"}),
                facts=StreamFacts(in_catalog=True, enabled=True, complete=True, records=1),
            ),
            mode="reconcile",
            zero_mrr=False,
        )
        assert run_jobs(run.start()) == []
        assert run.outcome is not None
        assert sorted(run.outcome.marked) == ["s1", "s2"]
        assert {r["path"].rsplit("/", 1)[-1] for r in emu.requests} == {"read", "update"}
        assert problems_in(emu) == []


def test_a_full_sync_makes_zero_calls_to_numbered_version_paths():
    with make_emulator() as emu:
        lines = _full_sync_lines(emu)
        run_connector("write", private_app_config(emu.url, token=PRIVATE_APP_TOKEN), lines)
        assert len(emu.requests) > 10
        assert [r["path"] for r in emu.requests if NUMBERED_PATH.search(r["path"])] == []


def test_the_validator_catches_a_malformed_body():
    """Guard against a conformance test that cannot fail."""
    problems = CATALOG.validate_request(
        "POST", f"/crm/objects/{VERSION}/2-1/batch/upsert", {"inputs": [{"properties": "nope"}]}
    )
    assert problems
    assert CATALOG.find("POST", "/crm/v3/objects/2-1/batch/upsert") is None


@pytest.mark.parametrize("mode", BATCH_MODES)
def test_scope_refusals_and_validation_rule_answers_conform_too(mode):
    lacking = [s for s in ALL_SCOPES if s not in ("oauth", "crm.objects.contacts.read")]
    with make_emulator(
        service_keys={SERVICE_KEY: lacking},
        required_on_create={"companies": ["industry"]},
        batch_record_errors=mode,
    ) as emu:
        lines = _full_sync_lines(emu)
        check = run_connector("check", private_app_config(emu.url, token=SERVICE_KEY))
        assert check.status["status"] == "FAILED"
        run = run_connector("write", private_app_config(emu.url), lines)
        assert run.errors == [] and any("industry" in line for line in run.logs)
        statuses = {r["status"] for r in emu.requests}
        assert 403 in statuses, statuses
        assert refusal_answers(emu, mode)
        assert problems_in(emu) == []
