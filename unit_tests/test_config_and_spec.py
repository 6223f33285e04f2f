"""The spec users see and the config model that enforces it."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from destination_hubspot_lago.config import ConfigError, DestinationConfig
from destination_hubspot_lago.connector import load_spec

ROOT = Path(__file__).resolve().parents[1]
PAT = {"credentials_title": "Private App Credentials", "access_token": "pat-na1-secret"}
OAUTH = {
    "credentials_title": "OAuth Credentials",
    "client_id": "cid",
    "client_secret": "csecret",
    "refresh_token": "rtoken",
}


def test_spec_command_prints_the_top_level_spec_json():
    out = subprocess.run(
        [sys.executable, "-m", "destination_hubspot_lago.run", "spec"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    specs = [json.loads(line) for line in out.splitlines() if '"SPEC"' in line]
    assert len(specs) == 1
    assert specs[0]["spec"] == json.loads((ROOT / "spec.json").read_text())


def test_spec_has_both_credential_types_with_secrets_marked():
    props = load_spec()["connectionSpecification"]["properties"]
    one_of = {
        o["properties"]["credentials_title"]["const"]: o for o in props["credentials"]["oneOf"]
    }
    assert set(one_of) == {"OAuth Credentials", "Private App Credentials"}
    oauth = one_of["OAuth Credentials"]["properties"]
    assert oauth["client_secret"]["airbyte_secret"] and oauth["refresh_token"]["airbyte_secret"]
    assert one_of["Private App Credentials"]["properties"]["access_token"]["airbyte_secret"]


def test_spec_fields_follow_product_defaults_and_order():
    props = load_spec()["connectionSpecification"]["properties"]
    expected = [
        "credentials",
        "default_targeted_object",
        "connection_code",
        "lago_front_url",
        "lago_organization_slug",
        "sync_subscriptions",
        "terminated_subscriptions",
        "sync_invoices",
        "dry_run",
        "object_storage_config",
        "api_base_url",
        "hubspot_api_version",
        "max_requests_per_10_seconds",
    ]
    assert sorted(props, key=lambda k: props[k]["order"]) == expected
    assert props["default_targeted_object"]["default"] == "companies"
    assert props["lago_front_url"]["default"] == "https://app.getlago.com"
    assert props["api_base_url"]["default"] == "https://api.hubapi.com"
    assert props["sync_subscriptions"]["default"] is True and props["dry_run"]["default"] is False
    assert props["terminated_subscriptions"]["enum"] == ["reconcile", "always", "off"]
    assert props["terminated_subscriptions"]["default"] == "reconcile"
    assert all(p.get("title") and p.get("description") for p in props.values())


def test_api_version_is_one_list_in_code_config_and_spec():
    from typing import get_args

    from destination_hubspot_lago.config import DestinationConfig
    from destination_hubspot_lago.hubspot.api import API_VERSIONS, DEFAULT_API_VERSION, Api

    field = load_spec()["connectionSpecification"]["properties"]["hubspot_api_version"]
    annotation = DestinationConfig.model_fields["hubspot_api_version"].annotation
    assert tuple(field["enum"]) == API_VERSIONS == get_args(annotation)
    assert field["default"] == DEFAULT_API_VERSION == "2026-09"
    paths = Api("2026-03")
    assert paths.objects("0-2", "batch/upsert") == "/crm/objects/2026-03/0-2/batch/upsert"
    assert paths.token == "/oauth/2026-03/token"
    assert (
        Api().schemas("2-1", "associations")
        == "/crm-object-schemas/2026-09/schemas/2-1/associations"
    )


def test_the_access_token_option_is_presented_as_a_service_key():
    options = load_spec()["connectionSpecification"]["properties"]["credentials"]["oneOf"]
    first = options[0]
    assert first["properties"]["credentials_title"]["const"] == "Private App Credentials"
    assert (
        "Service Key" in first["title"]
        and "Service Key" in first["properties"]["access_token"]["title"]
    )


def test_advanced_auth_points_at_hubspot_with_every_required_scope():
    from destination_hubspot_lago.portal.preflight import REQUIRED_SCOPES

    auth = load_spec()["advanced_auth"]
    assert auth["predicate_key"] == ["credentials", "credentials_title"]
    assert auth["predicate_value"] == "OAuth Credentials"
    spec = auth["oauth_config_specification"]["oauth_connector_input_specification"]
    assert spec["access_token_url"] == "https://api.hubapi.com/oauth/2026-09/token"
    assert set(spec["scope"].split()) == set(REQUIRED_SCOPES)
    out = auth["oauth_config_specification"]["complete_oauth_output_specification"]
    assert out["properties"]["refresh_token"]["path_in_connector_config"] == [
        "credentials",
        "refresh_token",
    ]


@pytest.mark.parametrize("credentials", [PAT, OAUTH])
def test_minimal_configs_are_valid_against_the_spec_and_the_model(credentials):
    config = {"credentials": credentials}
    jsonschema.validate(config, load_spec()["connectionSpecification"])
    parsed = DestinationConfig.parse(config)
    assert parsed.api_base_url == "https://api.hubapi.com"
    assert parsed.credentials.auth().kind == ("oauth" if credentials is OAUTH else "private_app")


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://api.hubapi.com", True),
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765/", True),
        ("http://[::1]:8765", True),
        ("http://api.hubapi.com", False),
        ("http://10.0.0.5:8765", False),
        ("ftp://api.hubapi.com", False),
        ("https://user:pw@api.hubapi.com", False),
        ("api.hubapi.com", False),
    ],
)
def test_api_base_url_must_be_https_unless_loopback(url, ok):
    config = {"credentials": PAT, "api_base_url": url}
    if ok:
        assert DestinationConfig.parse(config).api_base_url == url.rstrip("/")
    else:
        with pytest.raises(ConfigError, match="api_base_url"):
            DestinationConfig.parse(config)


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"credentials": {"credentials_title": "Magic"}}, "credentials"),
        ({"credentials": {"credentials_title": "Private App Credentials"}}, "access_token"),
        ({"default_targeted_object": "deals"}, "default_targeted_object"),
        ({"lago_front_url": "app.getlago.com"}, "lago_front_url"),
        ({"lago_organization_slug": "a/b"}, "lago_organization_slug"),
        ({"max_requests_per_10_seconds": 0}, "max_requests_per_10_seconds"),
        ({"sync_invoices": "maybe"}, "sync_invoices"),
        ({"terminated_subscriptions": "sometimes"}, "terminated_subscriptions"),
    ],
)
def test_invalid_configs_name_the_field_and_never_echo_secrets(patch, field):
    config = {"credentials": PAT, **patch}
    with pytest.raises(ConfigError) as info:
        DestinationConfig.parse(config)
    message = str(info.value)
    assert field in message
    assert "pat-na1-secret" not in message


def test_missing_credentials_says_what_to_choose():
    with pytest.raises(ConfigError, match="credentials: required: choose how to authenticate"):
        DestinationConfig.parse({})


def test_blank_optional_strings_are_treated_as_unset():
    parsed = DestinationConfig.parse(
        {"credentials": PAT, "connection_code": "  ", "lago_organization_slug": ""}
    )
    assert parsed.connection_code is None and parsed.lago_organization_slug is None


@pytest.mark.parametrize("mode", ["reconcile", "always", "off"])
def test_terminated_subscriptions_modes_parse_and_default_to_reconcile(mode):
    assert DestinationConfig.parse({"credentials": PAT}).terminated_subscriptions == "reconcile"
    config = {"credentials": PAT, "terminated_subscriptions": mode}
    jsonschema.validate(config, load_spec()["connectionSpecification"])
    assert DestinationConfig.parse(config).terminated_subscriptions == mode
