"""Behaviour tests of the HubSpot emulator itself, over real HTTP with ``requests``."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.hubspot_emulator import ALL_SCOPES, HubSpotEmulator

TOKEN = "pat-na1-good"
READ_ONLY_TOKEN = "pat-na1-contacts-read"
PORTAL = 62515

LAGO_INVOICES: dict[str, Any] = {
    "name": "LagoInvoices",
    "description": "Invoices issued by Lago billing engine",
    "requiredProperties": ["lago_invoice_id"],
    "labels": {"singular": "LagoInvoice", "plural": "LagoInvoices"},
    "primaryDisplayProperty": "lago_invoice_number",
    "secondaryDisplayProperties": ["lago_invoice_status", "lago_invoice_id"],
    "searchableProperties": ["lago_invoice_number", "lago_invoice_id"],
    "properties": [
        {
            "name": "lago_invoice_id",
            "label": "Lago Invoice Id",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        },
        {"name": "lago_invoice_number", "label": "Number", "type": "string", "fieldType": "text"},
        {"name": "lago_invoice_status", "label": "Status", "type": "string", "fieldType": "text"},
        {"name": "lago_invoice_issuing_date", "label": "Date", "type": "date", "fieldType": "date"},
        {
            "name": "lago_invoice_payment_overdue",
            "label": "Overdue",
            "groupName": "LagoInvoices",
            "type": "bool",
            "fieldType": "booleancheckbox",
            "options": [{"label": "True", "value": "true"}, {"label": "False", "value": "false"}],
        },
        {
            "name": "lago_invoice_total_amount",
            "label": "Total",
            "type": "number",
            "fieldType": "number",
        },
        {
            "name": "lago_invoice_payment_status",
            "label": "Payment status",
            "type": "enumeration",
            "fieldType": "select",
            "options": [
                {"label": "Pending", "value": "pending"},
                {"label": "Succeeded", "value": "succeeded"},
            ],
        },
        {
            "name": "external_ref",
            "label": "External ref",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        },
    ],
    "associatedObjects": ["COMPANY", "CONTACT"],
}


class Api:
    """Thin ``requests`` wrapper bound to one emulator and token."""

    def __init__(self, base_url: str, token: str | None = TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base_url + path, **kwargs)

    def upsert(self, object_type: str, inputs: list[dict[str, Any]]) -> requests.Response:
        return self("POST", f"/crm/v3/objects/{object_type}/batch/upsert", json={"inputs": inputs})


def make_emulator(**overrides: Any) -> HubSpotEmulator:
    options: dict[str, Any] = {
        "portal_id": PORTAL,
        "private_app_tokens": {
            TOKEN: ALL_SCOPES,
            READ_ONLY_TOKEN: ["crm.objects.contacts.read"],
        },
        "oauth_clients": {"client-id": "client-secret"},
        "refresh_tokens": {"refresh-good": ("client-id", ALL_SCOPES)},
        # These tests describe a portal with default custom associations; the switch has its own.
        "refuse_default_custom_associations": False,
    }
    options.update(overrides)
    return HubSpotEmulator(**options)


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with make_emulator() as emulator:
        yield emulator


@pytest.fixture
def api(emu: HubSpotEmulator) -> Api:
    return Api(emu.url)


@pytest.fixture
def invoices(api: Api) -> str:
    """objectTypeId of a freshly created LagoInvoices schema."""
    response = api("POST", "/crm/v3/schemas", json=LAGO_INVOICES)
    assert response.status_code == 201, response.text
    return str(response.json()["objectTypeId"])


def assert_error(response: requests.Response, status: int, category: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]
    assert isinstance(body["message"], str) and body["message"]
    return body


def refresh(api: Api, token: str = "refresh-good", secret: str = "client-secret") -> Any:
    return api(
        "POST",
        "/oauth/v1/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "client-id",
            "client_secret": secret,
            "refresh_token": token,
        },
    )


# --------------------------------------------------------------------------------- auth ---


def test_unknown_token_is_401_invalid_authentication(emu: HubSpotEmulator) -> None:
    response = Api(emu.url, token="pat-na1-wrong")("GET", "/crm/v3/schemas")
    assert_error(response, 401, "INVALID_AUTHENTICATION")
    assert response.headers["x-hubspot-auth-failure"] == "401 Unauthorized"
    assert_error(Api(emu.url, token=None)("GET", "/crm/v3/schemas"), 401, "INVALID_AUTHENTICATION")


def test_oauth_refresh_issues_opaque_expiring_tokens(emu: HubSpotEmulator) -> None:
    anonymous = Api(emu.url, token=None)
    first = refresh(anonymous)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["token_type"] == "bearer" and body["token_use"] == "access_token"
    assert body["expires_in"] == 1800 and body["hub_id"] == PORTAL
    assert body["refresh_token"] == "refresh-good"  # no rotation by default
    access = body["access_token"]
    assert len(access) >= 150 and "refresh-good" not in access
    assert refresh(anonymous).json()["access_token"] != access

    oauth = Api(emu.url, token=access)
    ok = oauth("GET", "/crm/v3/schemas")
    assert ok.status_code == 200
    assert "X-HubSpot-RateLimit-Daily" not in ok.headers  # OAuth calls carry no daily headers
    info = anonymous("GET", f"/oauth/v1/access-tokens/{access}").json()
    assert info["hub_id"] == PORTAL and info["token_type"] == "access"

    emu.expire_access_tokens()
    expired = assert_error(oauth("GET", "/crm/v3/schemas"), 401, "EXPIRED_AUTHENTICATION")
    assert re.fullmatch(
        r"The OAuth token used to make this call expired \d+ second\(s\) ago\.", expired["message"]
    )
    assert re.match(r"\d{4}-\d\d-\d\dT", expired["context"]["expire time"][0])


def test_refresh_token_rotation_invalidates_old_token() -> None:
    with make_emulator(rotate_refresh_tokens=True) as emulator:
        anonymous = Api(emulator.url, token=None)
        rotated = refresh(anonymous).json()["refresh_token"]
        assert rotated != "refresh-good"
        stale = refresh(anonymous)
        assert stale.status_code == 400
        assert "missing or invalid refresh token" in stale.json()["message"]
        assert refresh(anonymous, token=rotated).status_code == 200


def test_refresh_with_bad_client_secret_is_400(emu: HubSpotEmulator) -> None:
    response = refresh(Api(emu.url, token=None), secret="nope")
    assert response.status_code == 400
    assert "access_token" not in response.json()


def test_missing_scope_is_403_with_required_scopes(emu: HubSpotEmulator) -> None:
    limited = Api(emu.url, token=READ_ONLY_TOKEN)
    body = assert_error(
        limited("POST", "/crm/v3/schemas", json=LAGO_INVOICES), 403, "MISSING_SCOPES"
    )
    assert body["message"].startswith("This app hasn't been granted all required scopes")
    assert "crm.schemas.custom.write" in body["errors"][0]["context"]["requiredGranularScopes"]
    assert limited("GET", "/crm/v3/objects/contacts").status_code == 200
    write = limited("POST", "/crm/v3/objects/contacts", json={"properties": {}})
    assert_error(write, 403, "MISSING_SCOPES")
    assert emu.store.objects("contacts") == []


def test_token_info_endpoints(emu: HubSpotEmulator, api: Api) -> None:
    info = api("POST", "/oauth/v2/private-apps/get/access-token-info", json={"tokenKey": TOKEN})
    assert info.status_code == 200
    assert info.json()["hubId"] == PORTAL and "crm.objects.custom.write" in info.json()["scopes"]
    assert api("GET", "/account-info/v3/details").json()["portalId"] == PORTAL
    refresh_info = api("GET", "/oauth/v1/refresh-tokens/refresh-good").json()
    assert refresh_info["client_id"] == "client-id"
    assert api("GET", "/oauth/v1/access-tokens/unknown").status_code == 404


# ------------------------------------------------------------------------------ schemas ---


def test_schema_create_shapes_ids_groups_and_associations(api: Api) -> None:
    response = api("POST", "/crm-object-schemas/v3/schemas", json=LAGO_INVOICES)
    assert response.status_code == 201
    schema = response.json()
    assert re.fullmatch(r"2-\d+", schema["objectTypeId"])
    assert schema["id"] == schema["objectTypeId"].split("-")[1]
    assert schema["fullyQualifiedName"] == f"p{PORTAL}_LagoInvoices"
    props = {p["name"]: p for p in schema["properties"]}
    for default in ("hs_object_id", "hs_createdate", "hs_lastmodifieddate"):
        assert props[default]["modificationMetadata"]["readOnlyValue"] is True
    assert props["lago_invoice_id"]["groupName"] == "lagoinvoices_information"
    assert props["lago_invoice_payment_overdue"]["groupName"] == "lagoinvoices"
    assert props["lago_invoice_id"]["hasUniqueValue"] is True
    pairs = {(a["fromObjectTypeId"], a["toObjectTypeId"]) for a in schema["associations"]}
    type_id = schema["objectTypeId"]
    assert pairs == {(type_id, "0-2"), ("0-2", type_id), (type_id, "0-1"), ("0-1", type_id)}
    assert all(int(a["id"]) >= 600 for a in schema["associations"])
    groups = api("GET", f"/crm/v3/properties/{type_id}/groups").json()["results"]
    assert {g["name"] for g in groups} == {"lagoinvoices_information", "lagoinvoices"}


def test_schema_resolution_by_id_fqn_and_shorthand_but_not_base_name(
    api: Api, invoices: str
) -> None:
    for ref in (invoices, f"p{PORTAL}_LagoInvoices", "p_LagoInvoices"):
        got = api("GET", f"/crm/v3/schemas/{ref}")
        assert got.status_code == 200 and got.json()["objectTypeId"] == invoices
        assert api("GET", f"/crm/v3/objects/{ref}").status_code == 200
    assert_error(api("GET", "/crm/v3/objects/LagoInvoices"), 400, "VALIDATION_ERROR")
    assert_error(api("GET", "/crm/v3/properties/LagoInvoices"), 400, "VALIDATION_ERROR")
    assert api("GET", "/crm/v3/schemas/contact").json()["objectTypeId"] == "0-1"
    listed = api("GET", "/crm-object-schemas/v3/schemas").json()["results"]
    assert [s["objectTypeId"] for s in listed] == [invoices]
    assert listed[0]["associations"] and listed[0]["properties"]


def test_schema_duplicate_name_is_409(api: Api, invoices: str) -> None:
    assert_error(api("POST", "/crm/v3/schemas", json=LAGO_INVOICES), 409, "OBJECT_ALREADY_EXISTS")
    assert len(api("GET", "/crm/v3/schemas").json()["results"]) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"name": "1bad-name"},
        {"requiredProperties": ["not_defined"]},
        {"primaryDisplayProperty": "not_defined"},
        {"labels": None},
        {
            "properties": [
                {
                    "name": f"u{i}",
                    "label": "u",
                    "type": "string",
                    "fieldType": "text",
                    "hasUniqueValue": True,
                }
                for i in range(11)
            ],
            "requiredProperties": [],
            "primaryDisplayProperty": None,
            "secondaryDisplayProperties": [],
            "searchableProperties": [],
        },
        {"properties": [{"name": "x", "label": "x", "type": "string", "fieldType": "select"}]},
    ],
)
def test_schema_create_validation_is_400(api: Api, change: dict[str, Any]) -> None:
    body = {k: v for k, v in {**LAGO_INVOICES, **change}.items() if v is not None}
    assert_error(api("POST", "/crm/v3/schemas", json=body), 400, "VALIDATION_ERROR")
    assert api("GET", "/crm/v3/schemas").json()["results"] == []


def test_custom_object_limits() -> None:
    with make_emulator(custom_object_limit=1) as emulator:
        api = Api(emulator.url)
        assert api("POST", "/crm/v3/schemas", json=LAGO_INVOICES).status_code == 201
        second = {**LAGO_INVOICES, "name": "LagoSubscriptions"}
        assert_error(api("POST", "/crm/v3/schemas", json=second), 400, "VALIDATION_ERROR")
        limits = api("GET", "/crm/v3/limits/custom-object-types").json()
        assert limits == {"limit": 1, "usage": 1, "percentage": 100.0}
    with make_emulator(custom_object_limit=0) as emulator:
        api = Api(emulator.url)
        assert api("POST", "/crm/v3/schemas", json=LAGO_INVOICES).status_code == 403
        assert api("GET", "/crm/v3/schemas").json() == {"results": []}


# --------------------------------------------------------------------------- properties ---


def test_property_create_validation_and_conflicts(api: Api) -> None:
    base = {
        "name": "lago_customer_id",
        "label": "Lago Customer Id",
        "type": "string",
        "fieldType": "text",
        "groupName": "companyinformation",
        "hasUniqueValue": True,
    }
    created = api("POST", "/crm/v3/properties/companies", json=base)
    assert created.status_code == 201
    prop = created.json()
    for field in ("description", "options", "createdAt", "modificationMetadata", "archived"):
        assert field in prop
    assert prop["options"] == [] and prop["hasUniqueValue"] is True
    dup = assert_error(
        api("POST", "/crm/v3/properties/companies", json=base), 409, "OBJECT_ALREADY_EXISTS"
    )
    assert dup["message"] == "Property named 'lago_customer_id' already exists."
    bad_pair = {
        **base,
        "name": "p2",
        "type": "number",
        "fieldType": "text",
        "hasUniqueValue": False,
    }
    assert_error(
        api("POST", "/crm/v3/properties/companies", json=bad_pair), 400, "VALIDATION_ERROR"
    )
    bad_group = {**base, "name": "p3", "groupName": "nope"}
    assert_error(
        api("POST", "/crm/v3/properties/companies", json=bad_group), 400, "VALIDATION_ERROR"
    )
    missing = {k: v for k, v in base.items() if k != "groupName"} | {"name": "p4"}
    assert_error(api("POST", "/crm/v3/properties/companies", json=missing), 400, "VALIDATION_ERROR")


def test_property_batch_create_201_and_207(api: Api, invoices: str) -> None:
    new = {
        "groupName": "lagoinvoices_information",
        "name": "lago_invoice_total_due_amount",
        "label": "Due",
        "type": "number",
        "fieldType": "number",
    }
    path = f"/crm/v3/properties/{invoices}/batch/create"
    first = api("POST", path, json={"inputs": [new]})
    assert first.status_code == 201 and first.json()["status"] == "COMPLETE"
    other = {**new, "name": "lago_invoice_link", "type": "string", "fieldType": "text"}
    mixed = api("POST", path, json={"inputs": [new, other]})
    assert mixed.status_code == 207
    body = mixed.json()
    assert body["numErrors"] == 1 and body["errors"][0]["category"] == "OBJECT_ALREADY_EXISTS"
    assert [p["name"] for p in body["results"]] == ["lago_invoice_link"]
    for key in ("status", "category", "message", "context", "errors", "links"):
        assert key in body["errors"][0]


def test_property_patch_replaces_options_and_keeps_unique_flag(api: Api, invoices: str) -> None:
    path = f"/crm/v3/properties/{invoices}/lago_invoice_payment_status"
    options = [{"label": "Failed", "value": "failed", "hidden": False, "displayOrder": 0}]
    patched = api("PATCH", path, json={"options": options, "label": "Payment"})
    assert patched.status_code == 200
    assert [o["value"] for o in patched.json()["options"]] == ["failed"]
    assert api("GET", path).json()["label"] == "Payment"
    frozen = api(
        "PATCH", f"/crm/v3/properties/{invoices}/lago_invoice_id", json={"hasUniqueValue": False}
    )
    assert_error(frozen, 400, "VALIDATION_ERROR")
    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404


# ------------------------------------------------------------------------------ records ---


def test_upsert_creates_then_updates_with_new_flag(
    api: Api, invoices: str, emu: HubSpotEmulator
) -> None:
    item = {
        "idProperty": "lago_invoice_id",
        "id": "inv_1",
        "properties": {
            "lago_invoice_number": "N-1",
            "lago_invoice_total_amount": 49.5,
            "lago_invoice_payment_overdue": False,
        },
    }
    first = api.upsert(invoices, [item])
    assert first.status_code == 200, first.text
    result = first.json()["results"][0]
    assert result["new"] is True
    props = result["properties"]
    assert props["lago_invoice_id"] == "inv_1" and props["hs_object_id"] == result["id"]
    assert props["lago_invoice_total_amount"] == "49.5"
    assert props["lago_invoice_payment_overdue"] == "false"
    assert "hs_createdate" in props and "hs_lastmodifieddate" in props
    item["properties"] = {"lago_invoice_number": "N-2", "lago_invoice_status": ""}
    second = api.upsert(invoices, [item]).json()["results"][0]
    assert second["new"] is False and second["id"] == result["id"]
    stored = emu.store.objects(invoices)
    assert len(stored) == 1 and stored[0]["properties"]["lago_invoice_number"] == "N-2"
    query_fallback = api(
        "POST",
        f"/crm/v3/objects/{invoices}/batch/upsert?idProperty=lago_invoice_id",
        json={"inputs": [{"id": "inv_1", "properties": {}}]},
    )
    assert query_fallback.status_code == 200
    assert query_fallback.json()["results"][0]["new"] is False


def test_upsert_unique_collision_fails_whole_batch(
    api: Api, invoices: str, emu: HubSpotEmulator
) -> None:
    api.upsert(
        invoices,
        [{"idProperty": "lago_invoice_id", "id": "a", "properties": {"external_ref": "X"}}],
    )
    before = emu.store.snapshot()
    batch = [
        {"idProperty": "lago_invoice_id", "id": "b", "properties": {"external_ref": "Y"}},
        {"idProperty": "lago_invoice_id", "id": "c", "properties": {"external_ref": "X"}},
    ]
    response = api.upsert(invoices, batch)
    assert response.status_code == 409
    assert response.json()["category"] in ("CONFLICT", "OBJECT_ALREADY_EXISTS")
    assert emu.store.snapshot() == before


def test_contact_email_collision_is_409(api: Api, emu: HubSpotEmulator) -> None:
    existing = emu.store.create_object("contacts", {"email": "ops@acme.test", "firstname": "Ann"})
    api(
        "POST",
        "/crm/v3/properties/contacts",
        json={
            "name": "lago_customer_id",
            "label": "Lago id",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "hasUniqueValue": True,
        },
    )
    upsert = api.upsert(
        "contacts",
        [
            {
                "idProperty": "lago_customer_id",
                "id": "cus_1",
                "properties": {"email": "OPS@acme.test"},
            }
        ],
    )
    body = assert_error(upsert, 409, "OBJECT_ALREADY_EXISTS")
    assert body["message"] == f"Contact already exists. Existing ID: {existing['id']}"
    create = api(
        "POST",
        "/crm/v3/objects/contacts/batch/create",
        json={"inputs": [{"properties": {"email": "ops@acme.test"}}]},
    )
    assert create.status_code == 409
    by_email = api.upsert(
        "contacts",
        [{"idProperty": "email", "id": "ops@acme.test", "properties": {"lastname": "Smith"}}],
    )
    assert by_email.status_code == 200 and by_email.json()["results"][0]["new"] is False
    assert len(emu.store.objects("contacts")) == 1


def test_upsert_rejects_duplicates_non_unique_id_property_and_big_batches(
    api: Api, invoices: str, emu: HubSpotEmulator
) -> None:
    dup = [{"idProperty": "lago_invoice_id", "id": "x", "properties": {}}] * 2
    assert_error(api.upsert(invoices, dup), 400, "VALIDATION_ERROR")
    non_unique = api.upsert(
        invoices, [{"idProperty": "lago_invoice_number", "id": "1", "properties": {}}]
    )
    body = assert_error(non_unique, 400, "VALIDATION_ERROR")
    assert body["message"] == (
        f"Unable to perform update/upsert by non-unique {invoices} "
        f"property lago_invoice_number in portal ID {PORTAL}"
    )
    too_many = [
        {"idProperty": "lago_invoice_id", "id": f"i{n}", "properties": {}} for n in range(101)
    ]
    assert_error(api.upsert(invoices, too_many), 400, "VALIDATION_ERROR")
    assert emu.store.objects(invoices) == []


@pytest.mark.parametrize(
    ("properties", "code", "fragment"),
    [
        (
            {"lago_invoice_issuing_date": "1635535865"},
            "INVALID_DATE",
            "1635535865 is at 22:18:55.865 UTC, not midnight!",
        ),
        ({"lago_invoice_issuing_date": "2024-01-08T13:00:00Z"}, "INVALID_DATE", "not midnight!"),
        (
            {"lago_invoice_payment_status": "Pending"},
            "INVALID_OPTION",
            "Pending was not one of the allowed options: [pending, succeeded]",
        ),
        ({"nope": "1"}, "PROPERTY_DOESNT_EXIST", 'Property \\"nope\\" does not exist'),
        ({"lago_invoice_total_amount": "1.2.3"}, "INVALID_FLOAT", "1.2.3"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE", "hs_object_id"),
        ({"lago_invoice_number": "x" * 65_537}, "INVALID_STRING_LENGTH", "65536"),
    ],
)
def test_invalid_values_fail_the_whole_batch(
    invoices: str,
    emu: HubSpotEmulator,
    properties: dict[str, str],
    code: str,
    fragment: str,
) -> None:
    emu.store.batch_record_errors = "whole_batch"
    api = Api(emu.url)
    batch = [
        {"idProperty": "lago_invoice_id", "id": "ok", "properties": {"lago_invoice_number": "1"}},
        {"idProperty": "lago_invoice_id", "id": "bad", "properties": properties},
    ]
    body = assert_error(api.upsert(invoices, batch), 400, "VALIDATION_ERROR")
    assert body["message"].startswith("Property values were not valid: [")
    assert f'"error":"{code}"' in body["message"] and fragment in body["message"]
    assert emu.store.objects(invoices) == []


@pytest.mark.parametrize(
    ("version", "partial_status"), [("v3", 207), ("2026-09", 200)], ids=["v3", "2026-09"]
)
@pytest.mark.parametrize("endpoint", ["upsert", "update"])
def test_per_record_mode_refuses_only_the_bad_input_and_writes_the_others(
    api: Api, invoices: str, emu: HubSpotEmulator, version: str, partial_status: int, endpoint: str
) -> None:
    assert emu.store.batch_record_errors == "per_record"  # the default
    objects = (
        f"/crm/v3/objects/{invoices}" if version == "v3" else f"/crm/objects/{version}/{invoices}"
    )
    ids = [
        r["id"]
        for r in api.upsert(
            invoices,
            [{"idProperty": "lago_invoice_id", "id": f"i{n}", "properties": {}} for n in range(3)],
        ).json()["results"]
    ]
    bad_value = {"lago_invoice_payment_status": "Pending"}
    good_value = {"lago_invoice_payment_status": "pending"}
    if endpoint == "upsert":
        inputs = [
            {"idProperty": "lago_invoice_id", "id": f"i{n}", "properties": good_value}
            for n in range(3)
        ]
    else:
        inputs = [{"id": i, "properties": good_value} for i in ids]
    inputs[1] = {**inputs[1], "properties": bad_value}
    answer = api("POST", f"{objects}/batch/{endpoint}", json={"inputs": inputs})
    assert answer.status_code == partial_status, answer.text
    body = answer.json()
    assert body["status"] == "COMPLETE" and body["numErrors"] == 1
    assert {r["id"] for r in body["results"]} == {ids[0], ids[2]}
    (error,) = body["errors"]
    assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
    assert error["message"].startswith("Property values were not valid: [")
    assert '"error":"INVALID_OPTION"' in error["message"]
    assert error["errors"][0]["context"] == {"propertyName": ["lago_invoice_payment_status"]}
    # Whether HubSpot names the input there is unknown: the emulator does not.
    assert error["context"] == {} and "i1" not in str(error) and ids[1] not in str(error)
    status = {
        r["properties"]["lago_invoice_id"]: r["properties"].get("lago_invoice_payment_status")
        for r in emu.store.objects(invoices)
    }
    assert status == {"i0": "pending", "i1": None, "i2": "pending"}


def test_per_record_errors_name_the_input_by_its_trace_id(api: Api, invoices: str) -> None:
    inputs = [
        {
            "idProperty": "lago_invoice_id",
            "id": f"t{n}",
            "objectWriteTraceId": f"row-{n}",
            "properties": {"lago_invoice_total_amount": "1.2.3" if n else "1"},
        }
        for n in range(2)
    ]
    answer = api("POST", f"/crm/objects/2026-09/{invoices}/batch/upsert", json={"inputs": inputs})
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["context"] == {"objectWriteTraceId": ["row-1"]}


def test_the_batch_record_errors_switch_is_checked() -> None:
    with pytest.raises(ValueError, match="per_record, whole_batch"):
        make_emulator(batch_record_errors="sometimes")


def test_valid_value_formats_are_normalised(api: Api, invoices: str) -> None:
    item = {
        "idProperty": "lago_invoice_id",
        "id": "f",
        "properties": {
            "lago_invoice_issuing_date": "1704672000000",
            "lago_invoice_payment_overdue": True,
            "lago_invoice_total_amount": 7,
        },
    }
    props = api.upsert(invoices, [item]).json()["results"][0]["properties"]
    assert props["lago_invoice_issuing_date"] == "2024-01-08"
    assert props["lago_invoice_payment_overdue"] == "true"
    assert props["lago_invoice_total_amount"] == "7"


def test_required_properties_enforced_on_create(api: Api, invoices: str) -> None:
    response = api(
        "POST", f"/crm/v3/objects/{invoices}", json={"properties": {}, "associations": []}
    )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "Some required properties were not set" in body["message"]


def test_batch_create_with_trace_ids_is_207(api: Api, invoices: str, emu: HubSpotEmulator) -> None:
    inputs = [
        {"objectWriteTraceId": "row-1", "properties": {"lago_invoice_id": "t1"}},
        {
            "objectWriteTraceId": "row-2",
            "properties": {"lago_invoice_id": "t2", "lago_invoice_payment_status": "bogus"},
        },
    ]
    response = api("POST", f"/crm/v3/objects/{invoices}/batch/create", json={"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["row-1"]
    assert body["errors"][0]["context"]["objectWriteTraceId"] == ["row-2"]
    assert len(emu.store.objects(invoices)) == 1
    no_trace = [{"properties": i["properties"]} for i in inputs]
    no_trace[0]["properties"] = {"lago_invoice_id": "t3"}
    whole = api("POST", f"/crm/v3/objects/{invoices}/batch/create", json={"inputs": no_trace})
    assert_error(whole, 400, "VALIDATION_ERROR")
    assert len(emu.store.objects(invoices)) == 1


def test_batch_read_200_207_404(api: Api, invoices: str) -> None:
    api.upsert(
        invoices,
        [{"idProperty": "lago_invoice_id", "id": f"r{n}", "properties": {}} for n in (1, 2)],
    )
    path = f"/crm/v3/objects/{invoices}/batch/read"

    def read(ids: list[str]) -> requests.Response:
        return api(
            "POST",
            path,
            json={
                "idProperty": "lago_invoice_id",
                "properties": ["lago_invoice_id", "lago_invoice_number"],
                "propertiesWithHistory": [],
                "inputs": [{"id": i} for i in ids],
            },
        )

    all_found = read(["r1", "r2"])
    assert all_found.status_code == 200 and len(all_found.json()["results"]) == 2
    props = all_found.json()["results"][0]["properties"]
    assert props["lago_invoice_number"] is None and props["lago_invoice_id"] in ("r1", "r2")
    mixed = read(["r1", "missing"])
    assert mixed.status_code == 207
    error = mixed.json()["errors"][0]
    assert error["category"] == "OBJECT_NOT_FOUND" and error["context"]["ids"] == ["missing"]
    assert_error(read(["nope1", "nope2"]), 404, "OBJECT_NOT_FOUND")


def test_single_record_crud_and_listing(api: Api) -> None:
    created = api(
        "POST",
        "/crm/v3/objects/companies",
        json={"properties": {"name": "Acme", "domain": "acme.test"}, "associations": []},
    )
    assert created.status_code == 201
    company_id = created.json()["id"]
    assert (
        api("GET", f"/crm/v3/objects/company/{company_id}").json()["properties"]["name"] == "Acme"
    )
    patched = api(
        "PATCH", f"/crm/v3/objects/0-2/{company_id}", json={"properties": {"city": "Paris"}}
    )
    assert patched.json()["properties"]["city"] == "Paris"
    assert_error(api("GET", "/crm/v3/objects/companies/999"), 404, "OBJECT_NOT_FOUND")
    for n in range(3):
        api("POST", "/crm/v3/objects/companies", json={"properties": {"name": f"C{n}"}})
    page = api("GET", "/crm/v3/objects/companies?limit=2&properties=name").json()
    assert len(page["results"]) == 2 and "after" in page["paging"]["next"]
    rest = api("GET", f"/crm/v3/objects/companies?limit=2&after={page['paging']['next']['after']}")
    assert len(rest.json()["results"]) == 2 and "paging" not in rest.json()
    assert api("DELETE", f"/crm/v3/objects/companies/{company_id}").status_code == 204
    assert api("GET", f"/crm/v3/objects/companies/{company_id}").status_code == 404


def test_search_filters_and_limits(api: Api, invoices: str) -> None:
    api.upsert(
        invoices,
        [
            {
                "idProperty": "lago_invoice_id",
                "id": "s1",
                "properties": {"lago_invoice_total_amount": "5"},
            },
            {
                "idProperty": "lago_invoice_id",
                "id": "s2",
                "properties": {"lago_invoice_total_amount": "50"},
            },
            {"idProperty": "lago_invoice_id", "id": "s3", "properties": {}},
        ],
    )
    path = f"/crm/v3/objects/{invoices}/search"

    def search(filters: list[dict[str, Any]]) -> set[str]:
        body = {
            "filterGroups": [{"filters": filters}],
            "properties": ["lago_invoice_id"],
            "limit": 10,
            "after": "0",
            "sorts": [],
        }
        response = api("POST", path, json=body)
        assert response.status_code == 200, response.text
        assert not any(h.lower().startswith("x-hubspot-ratelimit") for h in response.headers)
        return {r["properties"]["lago_invoice_id"] for r in response.json()["results"]}

    assert search([{"propertyName": "lago_invoice_id", "operator": "EQ", "value": "s2"}]) == {"s2"}
    assert search(
        [{"propertyName": "lago_invoice_id", "operator": "IN", "values": ["s1", "s3"]}]
    ) == {"s1", "s3"}
    assert search([{"propertyName": "lago_invoice_total_amount", "operator": "HAS_PROPERTY"}]) == {
        "s1",
        "s2",
    }
    assert search(
        [{"propertyName": "lago_invoice_total_amount", "operator": "GT", "value": "10"}]
    ) == {"s2"}
    time.sleep(1.05)  # stay under the 5/s search limit
    too_many = {"filterGroups": [{"filters": []}] * 6, "limit": 10}
    assert_error(api("POST", path, json=too_many), 400, "VALIDATION_ERROR")
    assert_error(
        api("POST", path, json={"filterGroups": [], "limit": 201}), 400, "VALIDATION_ERROR"
    )


def test_search_secondly_limit() -> None:
    with make_emulator(search_per_second=2) as emulator:
        api = Api(emulator.url)
        body = {"filterGroups": [], "limit": 10}
        statuses = [api("POST", "/crm/v3/objects/contacts/search", json=body) for _ in range(3)]
        assert [r.status_code for r in statuses] == [200, 200, 429]
        limited = statuses[2]
        assert limited.json()["message"] == "You have reached your secondly limit."
        assert "X-HubSpot-RateLimit-Remaining" not in limited.headers


# ------------------------------------------------------------------------- associations ---


def test_default_association_is_idempotent_and_bidirectional(
    api: Api, invoices: str, emu: HubSpotEmulator
) -> None:
    invoice = api.upsert(
        invoices, [{"idProperty": "lago_invoice_id", "id": "a1", "properties": {}}]
    ).json()["results"][0]["id"]
    company = emu.store.create_object("companies", {"name": "Acme"})["id"]
    path = f"/crm/v4/objects/{invoices}/{invoice}/associations/default/companies/{company}"
    for _ in range(2):
        response = api("PUT", path)
        assert response.status_code == 200, response.text
        specs = [r["associationSpec"] for r in response.json()["results"]]
        assert specs[0]["associationCategory"] == "USER_DEFINED"
    assert len(emu.store.associations(invoices, invoice)) == 1
    back = emu.store.associations("companies", company)
    assert len(back) == 1 and back[0][2:4] == (invoices, invoice)
    listed = api("GET", f"/crm/v4/objects/companies/{company}/associations/{invoices}").json()
    assert listed["results"][0]["toObjectId"] == invoice
    contact = emu.store.create_object("contacts", {"email": "x@acme.test"})["id"]
    std = api("PUT", f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
    assert std.json()["results"][0]["associationSpec"] == {
        "associationCategory": "HUBSPOT_DEFINED",
        "associationTypeId": 279,
    }
    assert api("DELETE", path.replace("/default", "")).status_code == 204
    assert emu.store.associations(invoices, invoice) == []


def test_batch_associations(api: Api, invoices: str, emu: HubSpotEmulator) -> None:
    ids = [
        r["id"]
        for r in api.upsert(
            invoices,
            [{"idProperty": "lago_invoice_id", "id": f"b{n}", "properties": {}} for n in range(2)],
        ).json()["results"]
    ]
    company = emu.store.create_object("companies", {"name": "Acme"})["id"]
    pair = f"/crm/v4/associations/{invoices}/companies"
    inputs = [
        {"from": {"id": ids[0]}, "to": {"id": company}},
        {"from": {"id": "999999"}, "to": {"id": company}},
    ]
    default = api("POST", f"{pair}/batch/associate/default", json={"inputs": inputs})
    assert default.status_code == 200
    assert default.json()["numErrors"] == 1 and len(default.json()["results"]) == 2
    labels = api("GET", f"/crm/associations/v4/{invoices}/companies/labels").json()["results"]
    type_id = labels[0]["typeId"]
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": type_id}
    created = api(
        "POST",
        f"{pair}/batch/create",
        json={"inputs": [{"from": {"id": ids[1]}, "to": {"id": company}, "types": [spec]}]},
    )
    assert created.status_code == 201 and created.json()["results"][0]["labels"] == []
    bad = api(
        "POST",
        f"{pair}/batch/create",
        json={
            "inputs": [
                {"from": {"id": ids[1]}, "to": {"id": company}, "types": [spec]},
                {
                    "from": {"id": ids[1]},
                    "to": {"id": company},
                    "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 1}],
                },
            ]
        },
    )
    assert bad.status_code == 207
    read = api("POST", f"{pair}/batch/read", json={"inputs": [{"id": i} for i in ids]})
    assert read.status_code == 200 and len(read.json()["results"]) == 2
    partial = api("POST", f"{pair}/batch/read", json={"inputs": [{"id": ids[0]}, {"id": "1"}]})
    assert partial.status_code == 207
    too_many = api("POST", f"{pair}/batch/read", json={"inputs": [{"id": "1"}] * 1001})
    assert_error(too_many, 400, "VALIDATION_ERROR")
    archive = {"inputs": [{"from": {"id": ids[0]}, "to": [{"id": company}]}]}
    assert api("POST", f"{pair}/batch/archive", json=archive).status_code == 204
    assert emu.store.associations(invoices, ids[0]) == []
    assert len(emu.store.associations("companies", company)) == 1


def test_batch_read_associations_pages_each_input(
    api: Api, invoices: str, emu: HubSpotEmulator
) -> None:
    company = emu.store.create_object("companies", {"name": "Acme"})["id"]
    many = [
        emu.store.create_object(invoices, {"lago_invoice_id": f"p{n}"})["id"] for n in range(501)
    ]
    for invoice in many:
        emu.store.associate_default("companies", company, invoices, invoice)
    pair = f"/crm/v4/associations/companies/{invoices}/batch/read"
    first = api("POST", pair, json={"inputs": [{"id": company}]}).json()["results"][0]
    assert len(first["to"]) == 500
    after = first["paging"]["next"]["after"]
    rest = api("POST", pair, json={"inputs": [{"id": company, "after": after}]}).json()
    assert [t["toObjectId"] for t in rest["results"][0]["to"]] == [many[-1]]
    assert "paging" not in rest["results"][0]


def test_association_labels_on_both_paths(api: Api) -> None:
    created = api(
        "POST",
        "/crm/v4/associations/contacts/companies/labels",
        json={"label": "Billing contact", "name": "billing_contact"},
    )
    assert created.status_code == 200
    type_id = created.json()["results"][0]["typeId"]
    listed = api("GET", "/crm/associations/v4/contacts/companies/labels").json()["results"]
    assert {"category": "USER_DEFINED", "typeId": type_id, "label": "Billing contact"} in listed
    assert {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None} in listed


# --------------------------------------------------------------------------- rate limits ---


def test_ten_secondly_rate_limit_and_headers() -> None:
    with make_emulator(rate_limit_max=3, rate_limit_interval_ms=1000) as emulator:
        api = Api(emulator.url)
        responses = [api("GET", "/crm/v3/schemas") for _ in range(3)]
        assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
        assert responses[0].headers["X-HubSpot-RateLimit-Max"] == "3"
        assert responses[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1000"
        assert responses[0].headers["X-HubSpot-RateLimit-Daily"] == "1000000"
        limited = api("GET", "/crm/v3/schemas")
        body = assert_error(limited, 429, "RATE_LIMITS")
        assert body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["message"] == "You have reached your ten_secondly_rolling limit."
        assert body["errorType"] == "RATE_LIMIT" and body["requestId"]
        other_app = Api(emulator.url, token=READ_ONLY_TOKEN)("GET", "/crm/v3/objects/contacts")
        assert other_app.status_code == 200  # burst windows are per app
        time.sleep(1.1)
        assert api("GET", "/crm/v3/schemas").status_code == 200


def test_daily_limit(emu: HubSpotEmulator, api: Api) -> None:
    assert api("GET", "/crm/v3/schemas").status_code == 200
    emu.exhaust_daily_limit()
    body = assert_error(api("GET", "/crm/v3/schemas"), 429, "RATE_LIMITS")
    assert body["policyName"] == "DAILY" and body["message"] == "You have reached your daily limit."


# -------------------------------------------------------------------------------- faults ---


def test_injected_fault_is_not_applied(api: Api, invoices: str, emu: HubSpotEmulator) -> None:
    emu.inject_fault(status=503, method="POST", path_regex=r"/batch/upsert$", times=1)
    item = [{"idProperty": "lago_invoice_id", "id": "f1", "properties": {}}]
    failed = api.upsert(invoices, item)
    assert failed.status_code == 503 and "x-hubspot-correlation-id" in failed.headers
    assert emu.store.objects(invoices) == []
    assert api.upsert(invoices, item).status_code == 200
    assert len(emu.store.objects(invoices)) == 1


def test_fault_bodies(api: Api, emu: HubSpotEmulator) -> None:
    emu.inject_fault(status=423, path_regex="/crm/v3/objects/companies$")
    locked = api("POST", "/crm/v3/objects/companies", json={"properties": {}})
    assert locked.status_code == 423 and "2 seconds" in locked.json()["message"]
    emu.inject_fault(status=477, path_regex="companies", retry_after=3)
    assert api("GET", "/crm/v3/objects/companies").headers["Retry-After"] == "3"
    emu.inject_fault(status=502, path_regex="companies")
    gateway = api("GET", "/crm/v3/objects/companies")
    assert gateway.status_code == 502 and gateway.headers["Content-Type"].startswith("text/html")
    assert emu.store.objects("companies") == []


def test_random_faults_only_hit_writes_and_are_seeded() -> None:
    statuses = []
    for _ in range(2):
        with make_emulator(fault_rate=1.0, fault_seed=7) as emulator:
            api = Api(emulator.url)
            assert api("GET", "/crm/v3/objects/companies").status_code == 200
            seq = [
                api("POST", "/crm/v3/objects/companies", json={"properties": {}}).status_code
                for _ in range(5)
            ]
            assert set(seq) <= {502, 503, 504, 423}
            assert emulator.store.objects("companies") == []
            statuses.append(seq)
    assert statuses[0] == statuses[1]


def test_reset_and_timeout_faults(api: Api, emu: HubSpotEmulator) -> None:
    emu.inject_fault(status="reset", method="POST", path_regex="companies$")
    with pytest.raises(requests.ConnectionError):
        api("POST", "/crm/v3/objects/companies", json={"properties": {"name": "x"}})
    assert emu.requests[-1]["status"] is None
    assert emu.store.objects("companies") == []
    emu.inject_fault(status="timeout", method="GET", path_regex="contacts$", delay=1.0)
    with pytest.raises(requests.ReadTimeout):
        api("GET", "/crm/v3/objects/contacts", timeout=0.2)
    assert api("GET", "/crm/v3/objects/contacts").status_code == 200


# ------------------------------------------------------------------- log, http, process ---


def test_request_log_and_mutating_requests(api: Api, emu: HubSpotEmulator) -> None:
    emu.clear_log()
    api("GET", "/crm/v3/objects/companies?limit=5&properties=name")
    api("POST", "/crm/v3/objects/companies", json={"properties": {"name": "A"}})
    api("POST", "/crm/v3/objects/companies/batch/read", json={"inputs": [], "properties": []})
    api("POST", "/crm/v3/objects/companies/search", json={"filterGroups": []})
    refresh(api)
    entry = emu.requests[0]
    assert entry["headers"]["Authorization"] == "Bearer ***"
    assert entry["query"] == {"limit": ["5"], "properties": ["name"]}
    assert entry["status"] == 200 and entry["finished"] >= entry["started"]
    assert entry["response"]["results"] == []
    assert emu.requests[1]["body"] == {"properties": {"name": "A"}}
    assert emu.requests[1]["raw_body"] == b'{"properties": {"name": "A"}}'
    assert emu.requests[4]["body"]["grant_type"] == "refresh_token"
    assert TOKEN not in repr(emu.requests)
    mutating = emu.mutating_requests()
    assert [(e["method"], e["path"]) for e in mutating] == [("POST", "/crm/v3/objects/companies")]


def test_keep_alive_connection_survives_errors_and_204(emu: HubSpotEmulator) -> None:
    host, port = emu.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    sockets = []
    for method, path, body, status in [
        ("GET", "/crm/v3/objects/nope", None, 400),
        ("DELETE", "/crm/v3/objects/companies/1", None, 204),
        ("POST", "/crm/v3/objects/companies", '{"properties": {}}', 201),
        ("GET", "/crm/v3/schemas", None, 200),
    ]:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == status
        sockets.append(conn.sock)
    # http.client silently reconnects when the server closes; one socket means keep-alive held.
    assert sockets[0] is not None and all(s is sockets[0] for s in sockets)
    conn.close()


def test_latency_is_per_request_and_concurrent() -> None:
    with make_emulator(latency_seconds=0.3) as emulator:
        api = Api(emulator.url)
        started = time.monotonic()
        assert api("GET", "/crm/v3/schemas").status_code == 200
        assert time.monotonic() - started >= 0.3
        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    Api(emulator.url)("GET", "/crm/v3/schemas").status_code
                )
            )
            for _ in range(5)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [200] * 5 and time.monotonic() - started < 1.2


def test_store_direct_access_goes_through_validation(emu: HubSpotEmulator) -> None:
    schema = emu.store.create_schema(LAGO_INVOICES)
    assert [s["objectTypeId"] for s in emu.store.schemas()] == [schema["objectTypeId"]]
    prop = emu.store.create_property(
        "p_LagoInvoices",
        {
            "name": "lago_invoice_link",
            "label": "Link",
            "type": "string",
            "fieldType": "text",
            "groupName": "lagoinvoices_information",
        },
    )
    assert prop["name"] in {p["name"] for p in emu.store.properties(schema["objectTypeId"])}
    record = emu.store.create_object(f"p{PORTAL}_LagoInvoices", {"lago_invoice_id": "inv"})
    assert emu.store.objects(schema["objectTypeId"])[0]["id"] == record["id"]
    assert emu.requests == []  # no HTTP involved


def test_standalone_entry_point_serves() -> None:
    repo = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.hubspot_emulator",
            "--port",
            "0",
            "--token",
            "pat-na1-demo",
        ],
        cwd=repo,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        response = Api(url.group(0), token="pat-na1-demo")("GET", "/account-info/v3/details")
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_switch_refusing_default_custom_associations_keeps_typed_ones() -> None:
    with make_emulator(refuse_default_custom_associations=True) as emu:
        api = Api(emu.url)
        invoices = api("POST", "/crm-object-schemas/2026-09/schemas", json=LAGO_INVOICES).json()[
            "objectTypeId"
        ]
        invoice = api.upsert(
            invoices, [{"idProperty": "lago_invoice_id", "id": "s1", "properties": {}}]
        ).json()["results"][0]["id"]
        company = emu.store.create_object("companies", {"name": "Acme"})["id"]
        contact = emu.store.create_object("contacts", {"email": "s@acme.test"})["id"]
        pair = f"/crm/associations/2026-09/{invoices}/companies"
        inputs = [{"from": {"id": invoice}, "to": {"id": company}}]
        refused = api("POST", f"{pair}/batch/associate/default", json={"inputs": inputs})
        assert refused.status_code == 200 and refused.json()["numErrors"] == 1
        assert emu.store.associations(invoices) == []
        std = f"/crm/objects/2026-09/contacts/{contact}/associations/default/companies/{company}"
        assert api("PUT", std).status_code == 200  # standard pairs keep their default
        labels = api("GET", f"{pair}/labels").json()["results"]
        spec = {"associationCategory": "USER_DEFINED", "associationTypeId": labels[0]["typeId"]}
        typed = [{**inputs[0], "types": [spec]}]
        created = api("POST", f"{pair}/batch/create", json={"inputs": typed})
        assert created.status_code == 200, created.text  # 2026-09: 200, not 201
        assert len(emu.store.associations(invoices)) == 1


def test_date_based_paths_answer_partial_failures_with_200_and_legacy_ones_with_207(
    api: Api, invoices: str
) -> None:
    body = {
        "idProperty": "lago_invoice_id",
        "inputs": [{"id": "missing-1"}, {"id": "missing-2"}],
        "properties": [],
        "propertiesWithHistory": [],
    }
    api.upsert(invoices, [{"idProperty": "lago_invoice_id", "id": "missing-1", "properties": {}}])
    legacy = api("POST", f"/crm/v3/objects/{invoices}/batch/read", json=body)
    dated = api("POST", f"/crm/objects/2026-09/{invoices}/batch/read", json=body)
    assert legacy.status_code == 207
    assert dated.status_code == 200 and dated.json()["numErrors"] == 1
