"""Tests for tests/support/openapi_conformance.py against HubSpot's real OpenAPI specs."""

import pytest

from tests.support.openapi_conformance import (
    OpenApiCatalog,
    SpecsMissing,
    default_spec_dir,
    to_json_schema,
)

if not default_spec_dir().is_dir():
    pytest.skip(
        f"HubSpot OpenAPI specs not found at {default_spec_dir()} (set HUBSPOT_OPENAPI_DIR)",
        allow_module_level=True,
    )

UPSERT = "/crm/v3/objects/2-123/batch/upsert"


@pytest.fixture(scope="module")
def catalog() -> OpenApiCatalog:
    return OpenApiCatalog.load()


def upsert_result(**overrides) -> dict:
    result = {
        "id": "512",
        "archived": False,
        "new": True,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z",
        "properties": {"lago_invoice_id": "inv-1", "hs_object_id": "512"},
    }
    result.update(overrides)
    return {
        "status": "COMPLETE",
        "startedAt": "2024-01-01T00:00:00.000Z",
        "completedAt": "2024-01-01T00:00:01.000Z",
        "results": [result],
    }


# ---- loading ----------------------------------------------------------------------------------


def test_missing_directory_raises_specs_missing(tmp_path):
    with pytest.raises(SpecsMissing):
        OpenApiCatalog.load(tmp_path / "nope")


def test_env_override_is_honoured(monkeypatch, tmp_path):
    monkeypatch.setenv("HUBSPOT_OPENAPI_DIR", str(tmp_path))
    assert default_spec_dir() == tmp_path


def test_a_date_based_version_loads_from_its_own_folder():
    try:
        dated = OpenApiCatalog.load_version("2026-09")
    except SpecsMissing as missing:
        pytest.skip(str(missing))
    upsert = dated.find("POST", "/crm/objects/2026-09/2-1/batch/upsert")
    assert upsert is not None and upsert.path == "/crm/objects/2026-09/{objectType}/batch/upsert"
    assert dated.find("POST", "/crm/v3/objects/2-1/batch/upsert") is None  # legacy not mixed in
    assert dated.find("POST", "/oauth/2026-09/token/introspect") is not None
    # 2026-09 has no 207: a partial failure is a 200 carrying errors and numErrors.
    partial = {**upsert_result(), "errors": [], "numErrors": 0}
    assert (
        dated.validate_response("POST", "/crm/objects/2026-09/2-1/batch/upsert", 200, partial) == []
    )
    assert dated.validate_response("POST", "/crm/objects/2026-09/2-1/batch/upsert", 207, partial)


# ---- path matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, template",
    [
        ("POST", UPSERT, "/crm/v3/objects/{objectType}/batch/upsert"),
        # a literal segment beats a {param} in the same position
        ("POST", "/crm/v3/objects/contacts/search", "/crm/v3/objects/{objectType}/search"),
        ("GET", "/crm/v3/properties/companies/groups", "/crm/v3/properties/{objectType}/groups"),
        (
            "GET",
            "/crm/v3/properties/companies/lago_customer_id",
            "/crm/v3/properties/{objectType}/{propertyName}",
        ),
        ("PATCH", "/crm/v3/objects/companies/42", "/crm/v3/objects/{objectType}/{objectId}"),
        # full URLs, query strings and trailing slashes are accepted
        (
            "GET",
            "https://api.hubapi.com/crm/v3/objects/companies/42/?archived=false",
            "/crm/v3/objects/{objectType}/{objectId}",
        ),
        # /crm/v3/schemas is an alias of /crm-object-schemas/v3/schemas
        ("POST", "/crm/v3/schemas", "/crm-object-schemas/v3/schemas"),
        ("GET", "/crm/v3/schemas/2-123", "/crm-object-schemas/v3/schemas/{objectType}"),
        (
            "GET",
            "/crm-object-schemas/v3/schemas/2-123",
            "/crm-object-schemas/v3/schemas/{objectType}",
        ),
        # association labels exist in both spellings
        (
            "GET",
            "/crm/v4/associations/2-123/companies/labels",
            "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels",
        ),
        (
            "POST",
            "/crm/associations/v4/2-123/companies/labels",
            "/crm/associations/v4/{fromObjectType}/{toObjectType}/labels",
        ),
        ("POST", "/oauth/v1/token", "/oauth/v1/token"),
    ],
)
def test_find_matches_template(catalog, method, path, template):
    op = catalog.find(method, path)
    assert op is not None, f"{method} {path} not found"
    assert op.path == template


def test_literal_beats_param_regardless_of_spec_order(catalog):
    op = catalog.find("GET", "/crm/v3/properties/contacts/groups")
    assert op.path.endswith("/groups")
    assert op.path_params("/crm/v3/properties/contacts/groups") == {"objectType": "contacts"}


def test_labels_come_from_the_expected_files(catalog):
    v4 = catalog.find("GET", "/crm/v4/associations/2-1/0-2/labels")
    legacy = catalog.find("GET", "/crm/associations/v4/2-1/0-2/labels")
    assert v4.spec_file == "assocschema_50914.json"
    assert legacy.spec_file.startswith("CRM_Associations_Schema")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/oauth/v2/private-apps/get/access-token-info"),
        ("GET", "/crm/v3/objects/2-123/batch/upsert"),  # path exists, method does not
        ("POST", "/crm/v3/objects"),
        ("POST", "/crm/v3/schemasX"),  # the alias is applied on segment boundaries only
    ],
)
def test_find_returns_none_for_unknown(catalog, method, path):
    assert catalog.find(method, path) is None


def test_validate_request_on_unknown_endpoint_reports_it(catalog):
    problems = catalog.validate_request("GET", "/oauth/v2/private-apps/get/access-token-info", None)
    assert len(problems) == 1 and "not described" in problems[0]


# ---- requests ---------------------------------------------------------------------------------


def test_valid_batch_upsert_request(catalog):
    body = {
        "inputs": [
            {
                "id": "inv-1",
                "idProperty": "lago_invoice_id",
                "properties": {"lago_invoice_id": "inv-1", "lago_invoice_total_amount": "100.2"},
            }
        ]
    }
    assert catalog.validate_request("POST", UPSERT, body) == []


def test_invalid_batch_upsert_request(catalog):
    body = {"inputs": [{"idProperty": "lago_invoice_id", "properties": {"amount": 100.2}}]}
    problems = catalog.validate_request("POST", UPSERT, body)
    assert any("$.inputs[0]: 'id' is a required property" in p for p in problems), problems
    assert any("$.inputs[0].properties.amount" in p and "'string'" in p for p in problems)
    assert len(problems) == 2


def test_missing_required_body(catalog):
    problems = catalog.validate_request("POST", UPSERT, None)
    assert problems and "body is required" in problems[0]


def test_body_where_none_is_declared(catalog):
    problems = catalog.validate_request("GET", "/crm/v3/objects/companies/1", {"x": 1})
    assert problems and "no request body" in problems[0]


def test_request_through_schemas_alias(catalog):
    problems = catalog.validate_request("POST", "/crm/v3/schemas", {"name": "LagoInvoices"})
    assert any("'labels' is a required property" in p for p in problems), problems


def test_form_encoded_token_request(catalog):
    good = "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=r"
    assert catalog.validate_request("POST", "/oauth/v1/token", good) == []
    bad = catalog.validate_request("POST", "/oauth/v1/token", b"grant_type=password")
    assert len(bad) == 1 and "$.grant_type" in bad[0] and "'password'" in bad[0]
    as_dict = {"grant_type": "password"}
    assert catalog.validate_request("POST", "/oauth/v1/token", as_dict) != []


# ---- responses --------------------------------------------------------------------------------


def test_valid_batch_upsert_response(catalog):
    assert catalog.validate_response("POST", UPSERT, 200, upsert_result()) == []


def test_invalid_batch_upsert_response(catalog):
    body = upsert_result(new="yes")
    del body["results"][0]["createdAt"]
    body["status"] = "DONE"
    problems = catalog.validate_response("POST", UPSERT, 200, body)
    assert any("$.results[0]: 'createdAt' is a required property" in p for p in problems)
    assert any("$.results[0].new: 'yes' is not of type 'boolean'" in p for p in problems)
    assert any("$.status: 'DONE' is not one of" in p for p in problems)
    assert len(problems) == 3, problems


def test_207_uses_its_own_schema(catalog):
    body = upsert_result()
    assert catalog.validate_response("POST", UPSERT, 207, body) == []
    body["errors"] = [{"status": "error", "category": "VALIDATION_ERROR", "message": "x"}]
    body["numErrors"] = "one"
    problems = catalog.validate_response("POST", UPSERT, 207, body)
    assert any("$.numErrors" in p for p in problems), problems


def test_error_response_validated_against_error_schema(catalog):
    good = {
        "status": "error",
        "message": "Property values were not valid",
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "category": "VALIDATION_ERROR",
        "errors": [{"message": "bad", "code": "INVALID_INTEGER"}],
    }
    assert catalog.validate_response("POST", UPSERT, 400, good) == []
    assert catalog.validate_response("POST", UPSERT, 503, good) == []
    bad = {"status": "error", "message": "nope", "errors": [{"code": "X"}]}
    problems = catalog.validate_response("POST", UPSERT, 429, bad)
    assert any("'correlationId' is a required property" in p for p in problems)
    assert any("'category' is a required property" in p for p in problems)
    assert any("$.errors[0]: 'message' is a required property" in p for p in problems)


def test_undeclared_success_status_is_a_problem(catalog):
    problems = catalog.validate_response("POST", UPSERT, 201, upsert_result())
    assert len(problems) == 1 and "not declared" in problems[0]


def test_no_content_response(catalog):
    path = "/crm/v3/objects/companies/42"
    assert catalog.validate_response("DELETE", path, 204, None) == []
    assert catalog.validate_response("DELETE", path, 204, {"x": 1}) != []


def test_missing_json_body(catalog):
    problems = catalog.validate_response("POST", UPSERT, 200, None)
    assert problems and "JSON body is expected" in problems[0]


def test_oneof_response_names_closest_alternative(catalog):
    token = {"access_token": "a", "expires_in": 1800, "refresh_token": "r", "token_type": "bearer"}
    problems = catalog.validate_response("POST", "/oauth/v1/token", 200, token)
    assert len(problems) == 1 and "'token_use' is a required property" in problems[0]
    token["token_use"] = "access_token"
    assert catalog.validate_response("POST", "/oauth/v1/token", 200, token) == []


# ---- OpenAPI 3.0 -> JSON Schema ---------------------------------------------------------------


def test_to_json_schema_handles_openapi_keys():
    converted = to_json_schema(
        {
            "type": "object",
            "example": {"a": 1},
            "properties": {
                "example": {"type": "string", "nullable": True, "example": None},
                "n": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
                "e": {"type": "string", "enum": ["a"], "nullable": True},
            },
        }
    )
    assert "example" not in converted
    assert converted["properties"]["example"] == {"type": ["string", "null"]}
    assert converted["properties"]["n"] == {"type": "integer", "exclusiveMinimum": 0}
    assert converted["properties"]["e"]["enum"] == ["a", None]
