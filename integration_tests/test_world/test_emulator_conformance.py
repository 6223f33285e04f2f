"""The emulator's own answers match HubSpot's OpenAPI specs: per-record batch errors in both
modes, every ``batch/archive`` it serves (objects, properties, associations, association
labels) on the 2026-09 paths and on v3/v4, and the answers of the dropped-result fault.

Specs are read from ../shared/reference/hubspot-openapi (or $HUBSPOT_OPENAPI_DIR)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.hubspot_emulator import ALL_SCOPES, HubSpotEmulator
from tests.support.openapi_conformance import OpenApiCatalog, SpecsMissing

VERSION = "2026-09"
try:
    DATED = OpenApiCatalog.load_version(VERSION)
    LEGACY = OpenApiCatalog.load()
except SpecsMissing as missing:
    pytest.skip(f"HubSpot OpenAPI specs not available: {missing}", allow_module_level=True)

TOKEN = "pat-na1-conformance"
# Requested properties without a value come back as null (notes/hubspot_api.md §3.8).
TOLERATED = ("None is not of type 'string'",)
PATHS = {
    VERSION: {
        "objects": f"/crm/objects/{VERSION}",
        "properties": f"/crm/properties/{VERSION}",
        "associations": f"/crm/associations/{VERSION}",
        "schemas": f"/crm-object-schemas/{VERSION}/schemas",
    },
    "legacy": {
        "objects": "/crm/v3/objects",
        "properties": "/crm/v3/properties",
        "associations": "/crm/v4/associations",
        "schemas": "/crm/v3/schemas",
    },
}
SCHEMA = {
    "name": "ConformanceThings",
    "labels": {"singular": "Thing", "plural": "Things"},
    "primaryDisplayProperty": "thing_id",
    "requiredProperties": ["thing_id"],
    "secondaryDisplayProperties": [],
    "searchableProperties": ["thing_id"],
    "allowsSensitiveProperties": False,
    "properties": [
        {
            "name": "thing_id",
            "label": "Thing id",
            "type": "string",
            "fieldType": "text",
            "hasUniqueValue": True,
        },
        {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
    ],
    "associatedObjects": ["COMPANY"],
}


class Portal:
    def __init__(self, emu: HubSpotEmulator, family: str) -> None:
        self.emu = emu
        self.paths = PATHS[family]
        self.catalog = DATED if family == VERSION else LEGACY
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"
        self.things = self.call("POST", self.paths["schemas"], SCHEMA).json()["objectTypeId"]

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        response = self.session.request(method, self.emu.url + path, json=body, timeout=10)
        parsed = response.json() if response.content else None
        problems = self.catalog.validate_response(method, path, response.status_code, parsed)
        problems = [p for p in problems if not any(t in p for t in TOLERATED)]
        assert problems == [], (response.status_code, parsed)
        return response

    def upsert(self, ids: list[str], **properties: str) -> requests.Response:
        inputs = [{"idProperty": "thing_id", "id": i, "properties": dict(properties)} for i in ids]
        return self.call(
            "POST", f"{self.paths['objects']}/{self.things}/batch/upsert", {"inputs": inputs}
        )


@pytest.fixture(params=[VERSION, "legacy"])
def portal(request: pytest.FixtureRequest) -> Iterator[Portal]:
    with HubSpotEmulator(private_app_tokens={TOKEN: ALL_SCOPES}) as emu:
        yield Portal(emu, request.param)


def partial_status(portal: Portal, dated: int) -> int:
    return dated if portal.catalog is DATED else 207


@pytest.mark.parametrize("mode", ["per_record", "whole_batch"])
def test_a_refused_input_is_answered_as_the_specs_say_in_both_modes(
    portal: Portal, mode: str
) -> None:
    portal.emu.store.batch_record_errors = mode
    objects = f"{portal.paths['objects']}/{portal.things}"
    ids = [r["id"] for r in portal.upsert(["a", "b"], amount="1").json()["results"]]
    inputs = [{"id": ids[0], "properties": {"amount": "2"}}, {"id": ids[1], "properties": {}}]
    inputs[1]["properties"] = {"amount": "not a number"}
    upsert = portal.upsert(["a", "b", "c"], amount="x")
    update = portal.call("POST", f"{objects}/batch/update", {"inputs": inputs})
    if mode == "whole_batch":
        assert (upsert.status_code, update.status_code) == (400, 400)
        return
    assert upsert.status_code == partial_status(portal, 200)
    assert upsert.json()["numErrors"] == 3 and upsert.json()["results"] == []
    assert update.status_code == partial_status(portal, 200)
    assert update.json()["numErrors"] == 1 and [r["id"] for r in update.json()["results"]] == [
        ids[0]
    ]


def test_every_batch_archive_answers_as_its_spec_says(portal: Portal) -> None:
    dated = portal.catalog is DATED
    objects, props = portal.paths["objects"], portal.paths["properties"]
    (thing,) = [r["id"] for r in portal.upsert(["a"]).json()["results"]]
    company = portal.emu.store.create_object("companies", {"name": "Acme"})["id"]
    pair = f"{portal.paths['associations']}/{portal.things}/companies"
    labels = portal.call("GET", f"{pair}/labels").json()["results"]
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": labels[0]["typeId"]}
    typed = {"inputs": [{"from": {"id": thing}, "to": {"id": company}, "types": [spec]}]}
    assert portal.call("POST", f"{pair}/batch/create", typed).ok

    archived_labels = portal.call("POST", f"{pair}/batch/labels/archive", typed)
    assert portal.emu.store.associations(portal.things, thing) == []
    assert portal.call("POST", f"{pair}/batch/create", typed).ok
    archive = {"inputs": [{"from": {"id": thing}, "to": [{"id": company}]}]}
    archived_pairs = portal.call("POST", f"{pair}/batch/archive", archive)
    assert portal.emu.store.associations(portal.things, thing) == []
    for answer in (archived_labels, archived_pairs):
        if dated:  # BatchResponseVoid [SPEC 2026-09]
            assert answer.status_code == 200
            body = answer.json()
            assert body["status"] == "COMPLETE" and body["results"] == []
            assert body["startedAt"] <= body["completedAt"]
        else:  # v4: 204 No content
            assert answer.status_code == 204 and answer.content == b""

    # Objects' and properties' batch/archive are 204 in both spec families.
    prop = {"name": "extra", "label": "Extra", "type": "string", "fieldType": "text"}
    portal.call("POST", f"{props}/{portal.things}", {**prop, "groupName": "thing_information"})
    gone = portal.call(
        "POST", f"{props}/{portal.things}/batch/archive", {"inputs": [{"name": "extra"}]}
    )
    assert gone.status_code == 204 and gone.content == b""
    things = portal.call(
        "POST", f"{objects}/{portal.things}/batch/archive", {"inputs": [{"id": thing}]}
    )
    assert things.status_code == 204 and things.content == b""
    assert [r["archived"] for r in portal.emu.store.objects(portal.things)] == [True]


def test_a_dropped_result_is_answered_as_the_specs_say(portal: Portal) -> None:
    portal.emu.drop_batch_results(["b"])
    answer = portal.upsert(["a", "b", "c"])
    assert answer.status_code == partial_status(portal, 200)
    body = answer.json()
    assert sorted(r["properties"]["thing_id"] for r in body["results"]) == ["a", "c"]
    assert body["numErrors"] == 1 and "b" not in str(body["errors"][0]["context"])
    stored = {r["properties"]["thing_id"] for r in portal.emu.store.objects(portal.things)}
    assert stored == {"a", "c"}  # a dropped input is not applied
    portal.emu.drop_batch_results(["d"], error=None)
    silent = portal.upsert(["d"])
    assert silent.status_code == 200 and silent.json()["results"] == []
    assert "errors" not in silent.json()
