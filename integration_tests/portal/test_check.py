"""`check` over real HTTP against the emulator: success, each failure, adoption, idempotency."""

import pytest

from destination_hubspot_lago.portal.model import BILLING_ROLLUP_PROPERTIES, MODEL
from tests.support.harness import (
    OAUTH_CLIENT_ID,
    SECRETS,
    make_emulator,
    oauth_config,
    private_app_config,
    run_connector,
)
from tests.support.hubspot_emulator import ALL_SCOPES
from tests.support.lago_native_model import seed_lago_native_model


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
    token_calls = [r for r in emulator.requests if r["path"] == "/oauth/2026-09/token"]
    assert len(token_calls) == 1
    assert token_calls[0]["body"]["grant_type"] == "refresh_token"
    assert token_calls[0]["body"]["client_id"] == OAUTH_CLIENT_ID
    assert_no_secrets(run)


def test_bad_private_app_token_fails_with_what_to_do(emulator):
    run = run_connector("check", private_app_config(emulator.url, token="pat-na1-wrong-token"))
    assert run.status["status"] == "FAILED"
    assert "Service Key / Private App access token" in run.status["message"]
    assert "paste it" in run.status["message"]
    assert "pat-na1-wrong-token" not in run.stdout
    assert emulator.mutating_requests() == []


def test_bad_refresh_token_fails_with_what_to_do(emulator):
    run = run_connector("check", oauth_config(emulator.url, refresh_token="revoked-refresh-token"))
    assert run.status["status"] == "FAILED"
    assert "Re-authenticate" in run.status["message"]
    assert "revoked-refresh-token" not in run.stdout + run.stderr


def test_missing_scopes_are_named_from_oauth_introspection():
    granted = [
        s for s in ALL_SCOPES if s not in ("crm.schemas.custom.write", "crm.objects.contacts.write")
    ]
    refresh = {"few-scopes-refresh": (OAUTH_CLIENT_ID, granted)}
    with make_emulator(refresh_tokens=refresh) as emu:
        run = run_connector("check", oauth_config(emu.url, refresh_token="few-scopes-refresh"))
        assert run.status["status"] == "FAILED"
        message = run.status["message"]
        assert "crm.schemas.custom.write" in message and "crm.objects.contacts.write" in message
        assert "crm.objects.companies.read" not in message
        assert emu.mutating_requests() == []


SERVICE_KEY = "sk-na1-00000000-aaaa-bbbb-cccc-000000000000"


def service_key_emulator(*lacking: str, **options):
    granted = [s for s in ALL_SCOPES if s not in lacking and s != "oauth"]
    return make_emulator(service_keys={SERVICE_KEY: granted}, **options)


def test_service_key_with_every_scope_deploys_without_introspection():
    with service_key_emulator() as emu:
        run = run_connector("check", private_app_config(emu.url, token=SERVICE_KEY))
        assert run.status["status"] == "SUCCEEDED", run.status
        assert {s["name"] for s in emu.store.schemas()} >= {s.name for s in MODEL.custom}
        assert not [r for r in emu.requests if "/oauth/" in r["path"]]
        assert SERVICE_KEY not in run.stdout + run.stderr


def test_service_key_saved_under_the_old_credentials_title_keeps_working():
    with service_key_emulator() as emu:
        config = private_app_config(emu.url, token=SERVICE_KEY)
        assert config["credentials"]["credentials_title"] == "Private App Credentials"
        assert run_connector("check", config).status["status"] == "SUCCEEDED"


def test_service_key_lacking_the_schema_write_scope_fails_naming_it():
    with service_key_emulator("crm.schemas.custom.write") as emu:
        before = emu.store.snapshot()
        run = run_connector("check", private_app_config(emu.url, token=SERVICE_KEY))
        assert run.status["status"] == "FAILED"
        message = run.status["message"]
        assert "crm.schemas.custom.write" in message
        assert "Service Key" in message
        for scope in ALL_SCOPES:  # nothing HubSpot did not refuse
            if scope != "crm.schemas.custom.write":
                assert scope not in message.replace("crm.schemas.custom.write", "")
        assert emu.store.snapshot() == before


def test_service_key_lacking_a_read_scope_fails_naming_it():
    with service_key_emulator("crm.objects.contacts.read") as emu:
        run = run_connector("check", private_app_config(emu.url, token=SERVICE_KEY))
        assert run.status["status"] == "FAILED"
        message = run.status["message"]
        assert "crm.objects.contacts.read" in message
        assert "crm.objects.companies.read" not in message
        assert "crm.schemas" not in message


def test_service_key_lacking_several_read_scopes_names_each():
    lacking = ("crm.objects.contacts.read", "crm.objects.companies.read")
    with service_key_emulator(*lacking) as emu:
        message = run_connector("check", private_app_config(emu.url, token=SERVICE_KEY)).status[
            "message"
        ]
        assert all(scope in message for scope in lacking), message


def test_schema_reads_are_accepted_with_the_alternative_object_scope():
    # HubSpot reads schemas with crm.schemas.custom.read or crm.objects.custom.read.
    with service_key_emulator("crm.schemas.custom.read") as emu:
        run = run_connector("check", private_app_config(emu.url, token=SERVICE_KEY))
        assert run.status["status"] == "SUCCEEDED", run.status


def test_oauth_introspection_without_scopes_falls_back_to_what_hubspot_refuses():
    granted = [s for s in ALL_SCOPES if s != "crm.objects.contacts.read"]
    refresh = {"no-list-refresh": (OAUTH_CLIENT_ID, granted)}
    with make_emulator(refresh_tokens=refresh, introspection_lists_scopes=False) as emu:
        run = run_connector("check", oauth_config(emu.url, refresh_token="no-list-refresh"))
        assert run.status["status"] == "FAILED"
        assert "crm.objects.contacts.read" in run.status["message"]
        assert "crm.schemas.custom.write" not in run.status["message"]
    with make_emulator(introspection_lists_scopes=False) as emu:
        assert run_connector("check", oauth_config(emu.url)).status["status"] == "SUCCEEDED"


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
                f"/crm/properties/2026-09/{ids['LagoSubscriptions']}/batch/create",
                ["lago_subscription_link", *plan_values],
            ),
            (f"/crm/properties/2026-09/{ids['LagoInvoices']}/batch/create", ["lago_customer_id"]),
            (
                "/crm/properties/2026-09/0-1/batch/create",
                ["lago_tax_identification_number", *rollups],
            ),
            ("/crm/properties/2026-09/0-2/batch/create", rollups),
        ]
    )
    # Lago's objects and their associations with customers are kept; the one schema change is
    # §6's LagoInvoices <-> LagoSubscriptions definition, which Lago's model does not have.
    schema_changes = [
        (r["path"], r["body"])
        for r in emulator.mutating_requests()
        if r["path"].startswith("/crm-object-schemas")
    ]
    assert [
        (path, {body["fromObjectTypeId"], body["toObjectTypeId"]}) for path, body in schema_changes
    ] == [
        (
            f"/crm-object-schemas/2026-09/schemas/{ids['LagoInvoices']}/associations",
            {ids["LagoInvoices"], ids["LagoSubscriptions"]},
        )
    ]
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
        status=503, method="POST", path_regex=r"/crm-object-schemas/2026-09/schemas$", times=1
    )
    emulator.inject_fault(
        status=429, method="GET", path_regex=r"/crm/properties/2026-09/0-2$", times=1
    )
    run = run_connector("check", private_app_config(emulator.url))
    assert run.status["status"] == "SUCCEEDED", run.status
    assert len(emulator.store.schemas()) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_check_reports_a_lasting_outage_as_retryable(emulator, status):
    emulator.inject_fault(
        status=status, method="GET", path_regex=r"/crm-object-schemas/2026-09/schemas$", times=50
    )
    run = run_connector("check", private_app_config(emulator.url), timeout=120)
    assert run.status["status"] == "FAILED"
    assert "retried" in run.status["message"] or "unavailable" in run.status["message"]
