"""HubSpot's 2026 platform: admin validation rules, typed associations, scope refusals on
the first write, and associations between two custom objects."""

from __future__ import annotations

from destination_hubspot_lago.hubspot import HubSpotClient, PrivateAppAuth
from destination_hubspot_lago.hubspot.errors import explain_rejection
from destination_hubspot_lago.portal.deployment import deploy_model
from destination_hubspot_lago.portal.model import INVOICES, SUBSCRIPTIONS, HubSpotModel
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
from tests.support.scenario import linked_sample

SERVICE_KEY = "sk-na1-00000000-aaaa-bbbb-cccc-000000000000"


def sync_lines(dataset):
    return (
        [record("customers", c) for c in dataset.customers]
        + [record("subscriptions", s) for s in dataset.subscriptions]
        + [record("invoices", i) for i in dataset.invoices]
        + [stream_state("invoices", 1)]
    )


def lago_ids(emu, object_type, key):
    return {r["properties"].get(key) for r in emu.store.objects(object_type)} - {None}


def test_a_company_refused_by_an_admin_rule_is_rejected_naming_the_property():
    with make_emulator() as baseline:
        run_connector(
            "write", private_app_config(baseline.url), sync_lines(linked_sample(baseline.store))
        )
        expected = lago_ids(baseline, SUBSCRIPTIONS_TYPE(baseline), "lago_subscription_id")
        expected_contacts = lago_ids(baseline, "contacts", "lago_customer_id")
    with make_emulator(required_on_create={"companies": ["industry"]}) as emu:
        dataset = linked_sample(emu.store)
        run = run_connector("write", private_app_config(emu.url), sync_lines(dataset))
        new_companies = [
            c
            for c in dataset.customers
            if c["external_id"] != "cust-acme"
            and (c.get("customer_type") or "company") != "individual"
        ]
        rejected = [line for line in run.logs if line.startswith("Rejected customers")]
        written = lago_ids(emu, "companies", "lago_customer_id")
        assert rejected, run.logs[-20:]
        for line in rejected:
            assert "'industry'" in line and "Settings > Properties > industry" in line, line
        # Every other record was written: the linked company, contacts, subscriptions, invoices.
        assert written, "the existing company was not updated"
        assert len(written) + len(rejected) >= len(new_companies)
        subscriptions = lago_ids(emu, SUBSCRIPTIONS_TYPE(emu), "lago_subscription_id")
        assert subscriptions == expected and expected
        assert lago_ids(emu, "contacts", "lago_customer_id") == expected_contacts
        assert run.states, "the checkpoint after the rejections was not echoed"
        # Some of the stream refused, not all of it: rejected records, not a failed sync.
        assert run.returncode == 0 and run.errors == [], run.stdout[-3000:]
        summary = next(line for line in run.logs if line.startswith("Sync summary"))
        assert f"rejected records: {len(rejected)} (customers {len(rejected)})" in summary
        assert "industry" in summary


def SUBSCRIPTIONS_TYPE(emu):  # noqa: N802 - reads like the constant it stands for
    return next(s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoSubscriptions")


def INVOICES_TYPE(emu):  # noqa: N802
    return next(s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoInvoices")


def test_rejection_reason_names_the_property_from_hubspots_documented_body():
    message = (
        'Property values were not valid: [{"isValid":false,"message":"Enter only letters",'
        '"error":"INVALID_ALPHA","name":"firstname"}]'
    )
    reason = explain_rejection("VALIDATION_ERROR", "", message, {}, [])
    assert "'firstname'" in reason and "INVALID_ALPHA" in reason and "Rules" in reason
    assert explain_rejection("CONFLICT", "", "already exists", {}, []) == "already exists"


def test_with_default_associations_refused_every_subscription_and_invoice_is_associated():
    for refuse in (True, False):
        with make_emulator(refuse_default_custom_associations=refuse) as emu:
            dataset = linked_sample(emu.store)
            run = run_connector("write", private_app_config(emu.url), sync_lines(dataset))
            assert not [line for line in run.logs if "Association refused" in line], run.logs
            for type_id in (SUBSCRIPTIONS_TYPE(emu), INVOICES_TYPE(emu)):
                associated = {a[1] for a in emu.store.associations(type_id)}
                records = {r["id"] for r in emu.store.objects(type_id)}
                assert records and records <= associated, (refuse, type_id)
            assert not [r for r in emu.requests if r["path"].endswith("/associate/default")]


def test_a_service_key_lacking_a_write_scope_fails_check_naming_it_and_writes_nothing():
    granted = [s for s in ALL_SCOPES if s not in ("oauth", "crm.objects.companies.write")]
    with make_emulator(service_keys={SERVICE_KEY: granted}) as emu:
        dataset = linked_sample(emu.store)
        config = private_app_config(emu.url, token=SERVICE_KEY)
        check = run_connector("check", config)
        assert check.status["status"] == "FAILED"
        assert "crm.objects.companies.write" in check.status["message"]
        assert "crm.objects.contacts.write" not in check.status["message"]
        before = {t: emu.store.objects(t) for t in ("companies", "contacts")}
        run = run_connector("write", config, sync_lines(dataset))
        assert run.states == [] and run.errors[0]["failure_type"] == "config_error"
        assert "crm.objects.companies.write" in run.errors[0]["message"]
        assert {t: emu.store.objects(t) for t in ("companies", "contacts")} == before
        assert SERVICE_KEY not in run.stdout + run.stderr


MISSING_WRITE_SCOPE = {
    "status": "error",
    "message": "This app hasn't been granted all required scopes to make this call.",
    "correlationId": "00000000-0000-0000-0000-000000000000",
    "category": "MISSING_SCOPES",
    "errors": [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": ["crm.objects.companies.write"]},
        }
    ],
}


def test_a_write_scope_refused_on_the_first_write_is_a_config_error_and_no_state_passes_it():
    # When HubSpot does not refuse the empty probe write, the first real write's 403 decides.
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        emu.inject_fault(
            status=403, method="POST", path_regex=r"/0-2/batch/upsert$", body=MISSING_WRITE_SCOPE
        )
        run = run_connector("write", private_app_config(emu.url), sync_lines(dataset))
        assert run.returncode != 0
        assert run.states == []
        error = run.errors[0]
        assert error["failure_type"] == "config_error"
        assert "crm.objects.companies.write" in error["message"]
        assert "crm.objects.contacts.write" not in error["message"]


def test_oauth_sync_refreshes_on_the_date_based_token_endpoint():
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        run = run_connector("write", oauth_config(emu.url), sync_lines(dataset))
        assert run.states
        assert [r["path"] for r in emu.requests if "/oauth/" in r["path"]] == [
            "/oauth/2026-09/token",
            "/oauth/2026-09/token/introspect",
        ]


def test_custom_to_custom_associations_are_deployed_with_type_ids_both_ways():
    model = HubSpotModel(
        invoices=_with_associations(INVOICES, ("companies", "contacts", "subscriptions")),
        subscriptions=SUBSCRIPTIONS,
    )
    with make_emulator() as emu:
        client = HubSpotClient(emu.url, PrivateAppAuth(PRIVATE_APP_TOKEN))
        first = deploy_model(client, model=model)
        again = deploy_model(client, model=model)
    for key in (
        ("invoices", "subscriptions"),
        ("subscriptions", "invoices"),
        ("invoices", "companies"),
        ("subscriptions", "contacts"),
    ):
        assert key in first.association_type_ids, key
        assert again.association_type_ids[key] == first.association_type_ids[key]
    assert "LagoInvoices\u2194subscriptions" in first.created_associations
    assert not again.changed


def _with_associations(spec, keys):
    import dataclasses

    return dataclasses.replace(spec, associated_with=keys)


def test_the_previous_api_version_is_selectable_and_used_for_every_call():
    with make_emulator(required_on_create={"companies": ["industry"]}) as emu:
        dataset = linked_sample(emu.store)
        config = private_app_config(emu.url, hubspot_api_version="2026-03")
        assert run_connector("check", config).status["status"] == "SUCCEEDED"
        run = run_connector("write", config, sync_lines(dataset))
        assert run.states and not run.errors  # 2026-03 does not enforce admin rules
        assert all("/2026-03/" in r["path"] for r in emu.requests)
