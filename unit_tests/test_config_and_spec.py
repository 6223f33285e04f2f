"""The spec users see and the config model that enforces it."""

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from destination_hubspot_lago.config import ConfigError, DestinationConfig, spec_problems
from destination_hubspot_lago.connector import load_spec, validate

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
        "change_tracking",
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


# -- change_tracking (issue 19): where the ledger is kept ------------------------------------


def _options(name):
    props = load_spec()["connectionSpecification"]["properties"]
    return {o["properties"]["storage_type"]["enum"][0]: o for o in props[name]["oneOf"]}


def test_change_tracking_offers_none_s3_and_local_with_s3_keys_marked_secret():
    options = _options("change_tracking")
    assert list(options) == ["None", "S3", "Local"]
    s3 = options["S3"]["properties"]
    assert s3["access_key_id"]["airbyte_secret"] and s3["secret_access_key"]["airbyte_secret"]
    # the same S3 fields as the rejected-records bucket, plus how often to rewrite everything
    rejected = _options("object_storage_config")["S3"]["properties"]
    assert set(s3) == set(rejected) | {"full_rewrite_every_days"}
    assert options["S3"]["required"] == ["storage_type", "s3_bucket_name"]
    assert options["Local"]["required"] == ["storage_type", "path"]
    for option in ("S3", "Local"):
        days = options[option]["properties"]["full_rewrite_every_days"]
        assert (days["type"], days["default"], days["minimum"]) == ("integer", 7, 0)
        orders = [
            p["order"] for k, p in options[option]["properties"].items() if k != "storage_type"
        ]
        assert len(set(orders)) == len(orders)
    assert "volume" in options["Local"]["properties"]["path"]["description"]
    for option in options.values():
        for field in option["properties"].values():
            assert field.get("title"), field


@pytest.mark.parametrize(
    "tracking, kind, days",
    [
        (None, None, None),
        ({"storage_type": "None"}, None, None),
        ({"storage_type": "Local", "path": " /local/ledger "}, "Local", 7),
        ({"storage_type": "Local", "path": "/local", "full_rewrite_every_days": 0}, "Local", 0),
        ({"storage_type": "S3", "s3_bucket_name": "acme", "full_rewrite_every_days": 30}, "S3", 30),
    ],
)
def test_change_tracking_parses_to_none_or_an_option_with_its_rewrite_period(tracking, kind, days):
    config = (
        {"credentials": PAT}
        if tracking is None
        else {"credentials": PAT, "change_tracking": tracking}
    )
    jsonschema.validate(config, load_spec()["connectionSpecification"])
    parsed = DestinationConfig.parse(config).change_tracking
    if kind is None:
        assert parsed is None
    else:
        assert parsed is not None and parsed.storage_type == kind
        assert parsed.full_rewrite_every_days == days
    if kind == "Local":
        assert parsed.path == tracking["path"].strip()


@pytest.mark.parametrize(
    "tracking, field, says",
    [
        ({}, "change_tracking.storage_type", "required: 'None', 'S3' or 'Local'"),
        (
            {"storage_type": "Disk"},
            "change_tracking.storage_type",
            "must be 'None', 'S3' or 'Local'",
        ),
        ("S3", "change_tracking", "must be an object with storage_type"),
        ({"storage_type": "Local"}, "change_tracking.path", "required for Local storage"),
        ({"storage_type": "Local", "path": "  "}, "change_tracking.path", "required for Local"),
        ({"storage_type": "Local", "path": 5}, "change_tracking.path", "must be text"),
        (
            {"storage_type": "Local", "path": "/l", "full_rewrite_every_days": -1},
            "change_tracking.full_rewrite_every_days",
            "must be a whole number of days, 0 or more",
        ),
        (
            {"storage_type": "S3", "s3_bucket_name": "a", "full_rewrite_every_days": "weekly"},
            "change_tracking.full_rewrite_every_days",
            "must be a whole number of days",
        ),
        ({"storage_type": "S3"}, "change_tracking.s3_bucket_name", "required for S3 storage"),
        (
            {"storage_type": "S3", "s3_bucket_name": "acme/ledger"},
            "change_tracking.s3_bucket_name",
            "must be a bucket name only",
        ),
        (
            {"storage_type": "S3", "s3_bucket_name": "acme", "secret_access_key": "s3-secret-9"},
            "change_tracking.access_key_id",
            "required with secret_access_key",
        ),
        (
            {"storage_type": "S3", "s3_bucket_name": "acme", "s3_endpoint": "localhost:9000"},
            "change_tracking.s3_endpoint",
            "must be an absolute URL",
        ),
    ],
)
def test_a_wrong_change_tracking_field_is_named_with_what_to_put_there(tracking, field, says):
    with pytest.raises(ConfigError) as info:
        DestinationConfig.parse({"credentials": PAT, "change_tracking": tracking})
    message = str(info.value)
    assert f"{field}: {says}" in message
    assert "s3-secret-9" not in message and "pat-na1-secret" not in message


def test_the_spec_refuses_what_the_model_refuses_for_change_tracking():
    schema = load_spec()["connectionSpecification"]
    for wrong in (
        {"storage_type": "Local", "path": "/l", "full_rewrite_every_days": -1},
        {"storage_type": "Local"},
        {"storage_type": "S3"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"credentials": PAT, "change_tracking": wrong}, schema)


# -- every wrong field in one message, each with its fix ------------------------------------


def _problems(message: str) -> dict[str, str]:
    """``Invalid configuration: a: fix; b.c: fix.`` -> {field: fix}."""
    assert message.startswith("Invalid configuration: ") and message.endswith("."), message
    body = message.removeprefix("Invalid configuration: ")[:-1]
    found = {}
    for part in body.split("; "):
        field, _, fix = part.partition(": ")
        assert re.fullmatch(r"[a-z0-9_.]+", field), (part, message)
        assert fix, f"{field} has no fix: {message}"
        found[field] = fix
    return found


def _refused(config: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        validate(config)
    return _problems(str(info.value))


def _docs_rows() -> list[tuple[dict, set[str], list[str], str]]:
    """The docs' bad-configuration rows: (config patch, top-level keys it decides, fields
    named, what the message says). ``{…, ...}`` rows leave the credentials valid."""
    from unit_tests.test_docs import DOCS_PAGE, code_names, section, table_with

    body = section(DOCS_PAGE.read_text(encoding="utf-8"), "Bad configurations")
    columns, rows = table_with(body, "config", "field named", "message says")
    found = []
    for row in rows:
        (text,) = code_names(row[columns["config"]])
        placeholder = text.startswith("{…")
        patch = json.loads(re.sub(r"^\{…(, )?", "{", text))
        owns = set(patch) if placeholder else {"credentials", *patch}
        (says,) = code_names(row[columns["message says"]])
        found.append((patch, owns, code_names(row[columns["field named"]]), says))
    return found


DOC_ROWS = _docs_rows()


def _merged(rows) -> dict:
    config: dict = {}
    for patch, _, _, _ in rows:
        config.update(patch)
    if not any("credentials" in owns and "credentials" not in patch for patch, owns, _, _ in rows):
        config.setdefault("credentials", PAT)
    return config


def _assert_named(problems: dict[str, str], fields: list[str], says: str) -> None:
    for field in fields:
        assert field in problems, (field, problems)
    assert any(says in problems[f] or says == f"{f}: {problems[f]}"[: len(says)] for f in fields), (
        says,
        problems,
    )


def test_the_docs_list_the_bad_configurations_the_tests_combine():
    assert len(DOC_ROWS) >= 20


PAIRS = [
    (a, b)
    for i, a in enumerate(DOC_ROWS)
    for b in DOC_ROWS[i + 1 :]
    if not (a[1] & b[1])  # two mistakes in different fields can be made at once
]


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: " + ".join(json.dumps(r[0]) for r in p))
def test_any_two_wrong_fields_of_the_docs_are_named_in_one_message_each_with_its_fix(pair):
    problems = _refused(_merged(pair))
    for _, _, fields, says in pair:
        _assert_named(problems, fields, says)


def test_every_compatible_mistake_of_the_docs_at_once_is_named_in_one_message():
    chosen: list = []
    for row in DOC_ROWS:
        if not any(row[1] & other[1] for other in chosen):
            chosen.append(row)
    assert len(chosen) >= 10
    problems = _refused(_merged(chosen))
    for _, _, fields, says in chosen:
        _assert_named(problems, fields, says)
    assert PAT["access_token"] not in json.dumps(problems)


def test_two_wrong_fields_are_both_named():
    problems = _refused({"credentials": PAT, "sync_invoices": "maybe", "dry_run": "yes"})
    boolean = "must be true or false"
    assert problems == {"sync_invoices": boolean, "dry_run": boolean}


def test_a_missing_token_and_a_lax_boolean_are_both_named():
    problems = _refused(
        {"credentials": {"credentials_title": "Private App Credentials"}, "dry_run": "yes"}
    )
    assert set(problems) == {"credentials.access_token", "dry_run"}
    assert "Development > Keys > Service Keys" in problems["credentials.access_token"]


def test_three_wrong_fields_across_objects_are_all_named():
    problems = _refused(
        {
            "credentials": {"credentials_title": "OAuth Credentials", "client_id": "x"},
            "sync_subscriptions": "1",
            "object_storage_config": {
                "storage_type": "S3",
                "s3_bucket_name": "b/c",
                "access_key_id": "AKIAEXAMPLE",
            },
        }
    )
    assert {
        "credentials.client_secret",
        "credentials.refresh_token",
        "sync_subscriptions",
        "object_storage_config.s3_bucket_name",
        "object_storage_config.secret_access_key",  # named although the bucket name is wrong
    } <= set(problems), problems
    assert "AKIAEXAMPLE" not in json.dumps(problems)


@pytest.mark.parametrize("field", ["dry_run", "sync_invoices", "sync_subscriptions"])
@pytest.mark.parametrize("value", ["yes", "1", "true", "on", 1, 0, 1.0, None])
def test_booleans_are_strict_json_booleans(field, value):
    assert _refused({"credentials": PAT, field: value}) == {field: "must be true or false"}


@pytest.mark.parametrize(
    "patch",
    [{"dry_run": "yes"}, {"sync_invoices": "1"}, {"sync_subscriptions": 1}],
)
def test_the_model_alone_refuses_lax_values(patch):
    """Also without spec.json's rules (hosts that embed the class parse the config directly)."""
    with pytest.raises(ConfigError, match=f"{next(iter(patch))}: must be true or false"):
        DestinationConfig.parse({"credentials": PAT, **patch})
    with pytest.raises(ConfigError, match="max_requests_per_10_seconds: must be a whole number"):
        DestinationConfig.parse({"credentials": PAT, "max_requests_per_10_seconds": "100"})


@pytest.mark.parametrize("value", ["100", 100.0, 100.5, True, "1e2"])
def test_the_request_cap_is_a_strict_whole_number(value):
    problems = _refused({"credentials": PAT, "max_requests_per_10_seconds": value})
    assert list(problems) == ["max_requests_per_10_seconds"]
    assert problems["max_requests_per_10_seconds"].startswith("must be a whole number")


@pytest.mark.parametrize(
    "patch",
    [
        {"dry_run": True, "sync_invoices": False, "sync_subscriptions": True},
        {"max_requests_per_10_seconds": 100},
        {"max_requests_per_10_seconds": 1000, "dry_run": False},
    ],
)
def test_real_json_values_still_pass(patch):
    parsed = validate({"credentials": PAT, **patch})
    for key, value in patch.items():
        assert getattr(parsed, key) == value


def test_the_spec_and_the_model_are_checked_together():
    """A rule only spec.json has is named beside the model's mistakes, in the same message."""
    spec = copy.deepcopy(load_spec()["connectionSpecification"])
    spec["properties"]["connection_code"]["pattern"] = "^[a-z-]+$"
    with pytest.raises(ConfigError) as info:
        DestinationConfig.parse(
            {"credentials": PAT, "dry_run": "yes", "connection_code": "Not Valid!"}, spec
        )
    problems = _problems(str(info.value))
    assert problems["dry_run"] == "must be true or false"
    assert problems["connection_code"].startswith("must have the form")
    assert "hubspot-prod" in problems["connection_code"]  # the field's example
    assert "Not Valid!" not in str(info.value)


def test_spec_problems_say_what_to_do_never_the_rule_only():
    spec = load_spec()["connectionSpecification"]
    problems = spec_problems(
        {
            "credentials": {"credentials_title": "Private App Credentials"},
            "dry_run": "yes",
            "max_requests_per_10_seconds": 0,
            "lago_front_url": "app.getlago.com",
            "default_targeted_object": "deals",
        },
        spec,
    )
    assert problems["dry_run"] == "must be true or false"
    assert problems["max_requests_per_10_seconds"].startswith("must be a whole number from 1")
    assert "https://" in problems["lago_front_url"]
    assert problems["default_targeted_object"] == "must be 'companies' or 'contacts'"
    assert all("does not match the spec" not in fix for fix in problems.values())
    assert "app.getlago.com" not in json.dumps(problems)


def test_the_change_tracking_keys_are_filtered_from_every_printed_text():
    from destination_hubspot_lago.airbyte.secrets import config_secrets

    tracking = {
        "storage_type": "S3",
        "s3_bucket_name": "acme",
        "access_key_id": "AKIA-LEDGER-KEY",
        "secret_access_key": "ledger-secret-value",
    }
    found = config_secrets(
        load_spec()["connectionSpecification"], {"credentials": PAT, "change_tracking": tracking}
    )
    assert {"AKIA-LEDGER-KEY", "ledger-secret-value"} <= set(found)
