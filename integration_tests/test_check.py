"""`check` over real HTTP against the emulator: success, each failure, adoption, idempotency."""

import pytest

from destination_hubspot_lago.model import BILLING_ROLLUP_PROPERTIES, MODEL
from integration_tests.conftest import make_emulator
from integration_tests.harness import (
    OAUTH_CLIENT_ID,
    SECRETS,
    oauth_config,
    private_app_config,
    run_connector,
)
from integration_tests.hubspot_emulator import ALL_SCOPES
from integration_tests.lago_native_model import seed_lago_native_model


def assert_no_secrets(run):
    for secret in SECRETS:
        assert secret not in run.stdout and secret not in run.stderr


def deployed_property_names(emu, object_type):
    return {p["name"] for p in emu.store.properties(object_type)}


def test_check_deploys_the_full_model(emulator):
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "SUCCEEDED", run.status
    assert "created LagoSubscriptions" in run.status["message"]
    assert "portal 62515" in run.status["message"]
    schemas = {s["name"]: s for s in emulator.store.schemas()}
    for spec in MODEL.custom:
        schema = schemas[spec.name]
        names = deployed_property_names(emulator, schema["objectTypeId"])
        assert {p.name for p in spec.properties} <= names
        assert schema["primaryDisplayProperty"] == spec.primary_display
        assert set(schema["requiredProperties"]) == set(spec.required)
        assert set(schema["searchableProperties"]) == set(spec.searchable)
        unique = {
            p["name"]
            for p in emulator.store.properties(schema["objectTypeId"])
            if p.get("hasUniqueValue")
        }
        assert unique == {spec.id_property}
        linked = {
            a["toObjectTypeId"]
            for a in schema["associations"]
            if a["fromObjectTypeId"] == schema["objectTypeId"]
        }
        assert {"0-1", "0-2"} <= linked
    for spec in MODEL.standard:
        props = {p["name"]: p for p in emulator.store.properties(spec.object_type_id)}
        for prop in spec.properties:
            assert props[prop.name]["type"] == prop.type
            assert props[prop.name]["groupName"] == spec.group_name
            assert bool(props[prop.name].get("hasUniqueValue")) == prop.unique
    assert_no_secrets(run)


def test_second_check_makes_no_mutating_call(emulator):
    assert run_connector("check", private_app_config(emulator.url)).status["status"] == "SUCCEEDED"
    emulator.clear_log()
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "SUCCEEDED"
    assert "nothing to change" in run.status["message"]
    assert emulator.mutating_requests() == []


def test_check_with_oauth_refreshes_and_deploys(emulator):
    run = run_connector("check", oauth_config(emulator.url))
    assert run.status["status"] == "SUCCEEDED", run.status
    token_calls = [r for r in emulator.requests if r["path"] == "/oauth/v1/token"]
    assert len(token_calls) == 1
    assert token_calls[0]["body"]["grant_type"] == "refresh_token"
    assert token_calls[0]["body"]["client_id"] == OAUTH_CLIENT_ID
    assert_no_secrets(run)


def test_bad_private_app_token_fails_with_what_to_do(emulator):
    run = run_connector("check", private_app_config(emulator.url, token="pat-na1-wrong-token"))
    assert run.status["status"] == "FAILED"
    assert "Private App access token" in run.status["message"]
    assert "paste it" in run.status["message"]
    assert "pat-na1-wrong-token" not in run.stdout
    assert emulator.mutating_requests() == []


def test_bad_refresh_token_fails_with_what_to_do(emulator):
    run = run_connector("check", oauth_config(emulator.url, refresh_token="revoked-refresh-token"))
    assert run.status["status"] == "FAILED"
    assert "Re-authenticate" in run.status["message"]
    assert "revoked-refresh-token" not in run.stdout + run.stderr


def test_missing_scopes_are_named():
    granted = [
        s for s in ALL_SCOPES if s not in ("crm.schemas.custom.write", "crm.objects.contacts.write")
    ]
    with make_emulator(private_app_tokens={"pat-na1-few-scopes": granted}) as emu:
        run = run_connector("check", private_app_config(emu.url, token="pat-na1-few-scopes"))
        assert run.status["status"] == "FAILED"
        message = run.status["message"]
        assert "crm.schemas.custom.write" in message and "crm.objects.contacts.write" in message
        assert "crm.objects.companies.read" not in message
        assert emu.mutating_requests() == []


def test_private_app_is_not_asked_for_the_oauth_scope():
    granted = [s for s in ALL_SCOPES if s != "oauth"]
    with make_emulator(private_app_tokens={"pat-na1-no-oauth": granted}) as emu:
        run = run_connector("check", private_app_config(emu.url, token="pat-na1-no-oauth"))
        assert run.status["status"] == "SUCCEEDED", run.status


def test_portal_without_custom_objects_fails_with_the_plan_named():
    with make_emulator(custom_object_limit=0) as emu:
        run = run_connector("check", private_app_config(emu.url))
        assert run.status["status"] == "FAILED"
        assert "Enterprise" in run.status["message"]
        assert emu.mutating_requests() == []


def test_custom_object_limit_reached_fails_clearly():
    with make_emulator(custom_object_limit=1) as emu:
        run = run_connector("check", private_app_config(emu.url))
        assert run.status["status"] == "FAILED"
        assert "custom objects" in run.status["message"] and "Delete" in run.status["message"]
        assert emu.mutating_requests() == []


def test_unreachable_api_fails_quickly_with_what_to_do():
    run = run_connector("check", private_app_config("http://127.0.0.1:9"), timeout=60)
    assert run.status["status"] == "FAILED"
    assert "Could not reach HubSpot" in run.status["message"]
    assert "api_base_url" in run.status["message"]


def test_plain_http_to_a_remote_host_is_refused_before_any_call():
    run = run_connector("check", private_app_config("http://api.example.com"))
    assert run.status["status"] == "FAILED"
    assert "https" in run.status["message"]


SECTION_6_SUBSCRIPTION = {
    "lago_customer_id",
    "lago_plan_name",
    "lago_plan_interval",
    "lago_plan_amount",
    "lago_subscription_currency",
    "lago_subscription_mrr",
}


def test_lago_native_model_is_adopted_and_only_missing_properties_added(emulator):
    ids = seed_lago_native_model(emulator.store)
    emulator.clear_log()
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "SUCCEEDED", run.status
    assert "adopted existing LagoSubscriptions" in run.status["message"]
    assert len(emulator.store.schemas()) == 2  # nothing created beside Lago's objects
    created = [
        (r["path"], [i["name"] for i in r["body"]["inputs"]])
        for r in emulator.mutating_requests()
        if r["path"].endswith("/batch/create")
    ]
    # Lago's model lacks two of §1's properties and all of §6's (billing values).
    rollups = [p.name for p in BILLING_ROLLUP_PROPERTIES]
    plan_values = [
        p.name for p in MODEL.subscriptions.properties if p.name in SECTION_6_SUBSCRIPTION
    ]
    assert sorted(created) == sorted(
        [
            (
                f"/crm/v3/properties/{ids['LagoSubscriptions']}/batch/create",
                ["lago_subscription_link", *plan_values],
            ),
            (f"/crm/v3/properties/{ids['LagoInvoices']}/batch/create", ["lago_customer_id"]),
            ("/crm/v3/properties/0-1/batch/create", ["lago_tax_identification_number", *rollups]),
            ("/crm/v3/properties/0-2/batch/create", rollups),
        ]
    )
    assert all(
        not r["path"].startswith("/crm-object-schemas") for r in emulator.mutating_requests()
    )
    # Lago's own definitions keep their types (string/text link) and nothing was retyped.
    invoice_props = {p["name"]: p for p in emulator.store.properties(ids["LagoInvoices"])}
    assert invoice_props["lago_invoice_url"]["fieldType"] == "text"
    emulator.clear_log()
    assert run_connector("check", private_app_config(emulator.url)).status["status"] == "SUCCEEDED"
    assert emulator.mutating_requests() == []


def test_incompatible_existing_property_is_a_clear_config_error(emulator):
    emulator.store.create_property(
        "companies",
        {
            "name": "lago_customer_link",
            "label": "Link",
            "type": "number",
            "fieldType": "number",
            "groupName": "companyinformation",
        },
    )
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "FAILED"
    message = run.status["message"]
    assert "lago_customer_link" in message and "number" in message and "rename or delete" in message


def test_non_unique_id_property_is_refused(emulator):
    emulator.store.create_property(
        "contacts",
        {
            "name": "lago_customer_id",
            "label": "Lago",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
    )
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "FAILED"
    assert "lago_customer_id" in run.status["message"] and "unique" in run.status["message"]


def test_dry_run_check_reports_the_plan_and_mutates_nothing(emulator):
    run = run_connector("check", private_app_config(emulator.url, dry_run=True))
    assert run.status["status"] == "SUCCEEDED", run.status
    assert "would create LagoSubscriptions" in run.status["message"]
    assert emulator.mutating_requests() == []
    assert emulator.store.schemas() == []


def test_check_survives_transient_faults(emulator):
    emulator.inject_fault(
        status=503, method="POST", path_regex=r"/crm-object-schemas/v3/schemas$", times=1
    )
    emulator.inject_fault(status=429, method="GET", path_regex=r"/crm/v3/properties/0-2$", times=1)
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "SUCCEEDED", run.status
    assert len(emulator.store.schemas()) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_check_reports_a_lasting_outage_as_retryable(emulator, status):
    emulator.inject_fault(
        status=status, method="GET", path_regex=r"/crm-object-schemas/v3/schemas$", times=50
    )
    run = run_connector("check", private_app_config(emulator.url), timeout=120)
    assert run.status["status"] == "FAILED"
    assert "retried" in run.status["message"] or "unavailable" in run.status["message"]
