"""The HubSpot emulator holds what billing values (docs/product.md §6) need: an association
definition
between two custom objects (LagoInvoices ↔ LagoSubscriptions) and the new property types.

Over real HTTP, with the bodies ``portal/model.py`` declares (the ones deployment sends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from destination_hubspot_lago.portal.model import MODEL
from tests.support.hubspot_emulator import ALL_SCOPES, HubSpotEmulator

TOKEN = "pat-na1-billing"


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base_url + path, **kwargs)


@pytest.fixture
def emu() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(private_app_tokens={TOKEN: ALL_SCOPES}) as emulator:
        yield emulator


@pytest.fixture
def api(emu: HubSpotEmulator) -> Api:
    return Api(emu.url)


@pytest.fixture
def types(api: Api) -> dict[str, str]:
    """objectTypeIds of LagoSubscriptions and LagoInvoices, created from the model's bodies."""
    ids = {}
    for spec in MODEL.custom:
        created = api("POST", "/crm-object-schemas/v3/schemas", json=spec.create_body())
        assert created.status_code == 201, created.text
        ids[spec.key] = str(created.json()["objectTypeId"])
    return ids


def define_invoice_subscription(api: Api, types: dict[str, str]) -> requests.Response:
    invoices, subscriptions = types["invoices"], types["subscriptions"]
    return api(
        "POST",
        f"/crm-object-schemas/v3/schemas/{invoices}/associations",
        json={
            "fromObjectTypeId": invoices,
            "toObjectTypeId": subscriptions,
            "name": "lagoinvoices_to_lagosubscriptions",
        },
    )


def upsert(api: Api, type_id: str, id_property: str, lago_id: str, **properties: str):
    return api(
        "POST",
        f"/crm/v3/objects/{type_id}/batch/upsert",
        json={"inputs": [{"idProperty": id_property, "id": lago_id, "properties": properties}]},
    )


def test_model_schemas_name_only_hubspots_objects_at_creation(types: dict[str, str], api: Api):
    body = MODEL.invoices.create_body()
    assert body["associatedObjects"] == ["COMPANY", "CONTACT"]  # the custom pair comes later
    schema = api("GET", f"/crm-object-schemas/v3/schemas/{types['invoices']}").json()
    linked = {(a["fromObjectTypeId"], a["toObjectTypeId"]) for a in schema["associations"]}
    assert (types["invoices"], types["subscriptions"]) not in linked


def test_custom_to_custom_association_definition(api: Api, types: dict[str, str]):
    invoices, subscriptions = types["invoices"], types["subscriptions"]
    created = define_invoice_subscription(api, types)
    assert created.status_code == 201, created.text
    definition = created.json()
    assert (definition["fromObjectTypeId"], definition["toObjectTypeId"]) == (
        invoices,
        subscriptions,
    )
    assert definition["name"] == "lagoinvoices_to_lagosubscriptions"

    # Both schemas list it, as deployment reads them (includeAssociationDefinitions).
    listed = api(
        "GET", "/crm-object-schemas/v3/schemas", params={"includeAssociationDefinitions": "true"}
    ).json()["results"]
    for schema in listed:
        pairs = [
            {a["fromObjectTypeId"], a["toObjectTypeId"]} for a in schema.get("associations", [])
        ]
        assert {invoices, subscriptions} in pairs, schema["name"]

    # One unlabeled type per direction, on the v4 labels path of each direction.
    forward = api("GET", f"/crm/associations/v4/{invoices}/{subscriptions}/labels").json()
    backward = api("GET", f"/crm/v4/associations/{subscriptions}/{invoices}/labels").json()
    assert [(r["category"], r["label"]) for r in forward["results"]] == [("USER_DEFINED", None)]
    assert [(r["category"], r["label"]) for r in backward["results"]] == [("USER_DEFINED", None)]
    assert forward["results"][0]["typeId"] == int(definition["id"])
    assert backward["results"][0]["typeId"] != forward["results"][0]["typeId"]


def test_records_of_two_custom_objects_are_associated(api: Api, types: dict[str, str]):
    invoices, subscriptions = types["invoices"], types["subscriptions"]
    assert define_invoice_subscription(api, types).status_code == 201
    invoice = upsert(api, invoices, "lago_invoice_id", "i1").json()["results"][0]["id"]
    subs = [
        upsert(api, subscriptions, "lago_subscription_id", sid).json()["results"][0]["id"]
        for sid in ("s1", "s2")
    ]
    pair = f"/crm/v4/associations/{invoices}/{subscriptions}"

    default = api(
        "POST",
        f"{pair}/batch/associate/default",
        json={"inputs": [{"from": {"id": invoice}, "to": {"id": subs[0]}}]},
    )
    assert default.status_code == 200, default.text
    type_id = api("GET", f"/crm/associations/v4/{invoices}/{subscriptions}/labels").json()[
        "results"
    ][0]["typeId"]
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": type_id}
    created = api(
        "POST",
        f"{pair}/batch/create",
        json={"inputs": [{"from": {"id": invoice}, "to": {"id": subs[1]}, "types": [spec]}]},
    )
    assert created.status_code == 201, created.text

    # Seen from the subscription side too, and the same call again creates nothing new.
    back = api("GET", f"/crm/v4/objects/{subscriptions}/{subs[0]}/associations/{invoices}").json()
    assert [r["toObjectId"] for r in back["results"]] == [invoice]
    assert [t["typeId"] for t in back["results"][0]["associationTypes"]] == [
        default.json()["results"][1]["associationSpec"]["associationTypeId"]
    ]  # the inverse type
    again = api(
        "POST",
        f"{pair}/batch/associate/default",
        json={"inputs": [{"from": {"id": invoice}, "to": {"id": subs[0]}}]},
    )
    assert again.status_code == 200
    read = api("POST", f"{pair}/batch/read", json={"inputs": [{"id": invoice}]}).json()
    assert sorted(str(t["toObjectId"]) for t in read["results"][0]["to"]) == sorted(subs)


def test_association_between_custom_objects_without_a_definition_is_refused(
    api: Api, types: dict[str, str]
):
    invoices, subscriptions = types["invoices"], types["subscriptions"]
    invoice = upsert(api, invoices, "lago_invoice_id", "i1").json()["results"][0]["id"]
    sub = upsert(api, subscriptions, "lago_subscription_id", "s1").json()["results"][0]["id"]
    answer = api(
        "POST",
        f"/crm/v4/associations/{invoices}/{subscriptions}/batch/associate/default",
        json={"inputs": [{"from": {"id": invoice}, "to": {"id": sub}}]},
    )
    # HubSpot answers the batch with an error per input naming the missing type.
    assert answer.status_code == 200 and answer.json()["numErrors"] == 1, answer.text
    assert "No default association type" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "value, ok",
    [("weekly", True), ("semiannual", True), ("yearly", True), ("daily", False), ("Weekly", False)],
)
def test_plan_interval_is_an_enumeration_of_the_five_intervals(api, types, value, ok):
    prop = api("GET", f"/crm/v3/properties/{types['subscriptions']}/lago_plan_interval").json()
    assert (prop["type"], prop["fieldType"]) == ("enumeration", "select")
    assert [o["value"] for o in prop["options"]] == [
        "weekly",
        "monthly",
        "quarterly",
        "semiannual",
        "yearly",
    ]
    answer = upsert(
        api, types["subscriptions"], "lago_subscription_id", "s1", lago_plan_interval=value
    )
    assert written(answer) is ok, answer.text


def test_rollup_properties_take_numbers_dates_and_zero(api: Api):
    body = {
        "inputs": [
            spec.create_body(MODEL.companies.group_name) for spec in MODEL.companies.properties
        ]
    }
    created = api("POST", "/crm/v3/properties/0-2/batch/create", json=body)
    assert created.status_code in (200, 201), created.text
    values = {
        "lago_customer_id": "c1",
        "lago_billing_currency": "KWD",
        "lago_mrr": "125.500",
        "lago_active_subscriptions": "0",
        "lago_outstanding_amount": "0.000",
        "lago_overdue_amount": "0",
        "lago_overdue_invoices": "0",
        "lago_last_invoice_date": "2025-05-05",
        "lago_wallet_credits_balance": "250.5",
    }
    assert upsert(api, "0-2", "lago_customer_id", "c1", **values).status_code in (200, 201)
    bad = upsert(api, "0-2", "lago_customer_id", "c1", lago_mrr="12,5")
    assert not written(bad) and "INVALID_FLOAT" in bad.text, bad.text
    bad_date = upsert(api, "0-2", "lago_customer_id", "c1", lago_last_invoice_date="05/05/2025")
    assert not written(bad_date) and "INVALID_DATE" in bad_date.text, bad_date.text


def written(answer) -> bool:
    """A one-input batch upsert was written: refused, it is a 400 for the whole batch or (per
    record, the emulator's default) a 207 whose only entry is in errors[]."""
    if answer.status_code not in (200, 201):
        return False
    return bool(answer.json()["results"]) and not answer.json().get("numErrors")
