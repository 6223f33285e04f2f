"""Config and command-line mistakes through the real command line: each names what to fix,
every problem at once, in one Airbyte message on stdout only, never a Python traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.support.harness import PRIVATE_APP_TOKEN, ROOT, catalog, run_connector
from unit_tests.test_docs import DOCS_PAGE, code_names, section, table_with

PAT = {"credentials_title": "Private App Credentials", "access_token": "pat-na1-0000-secret"}
MODULE = [sys.executable, "-m", "destination_hubspot_lago.run"]


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODULE, *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def messages(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def assert_one_clear_failure(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit 1, one config_error trace without a stack trace, and the sentence nowhere else:
    not on stderr (Airbyte reads stdout; a terminal would show it twice)."""
    assert done.returncode == 1, done.stdout + done.stderr
    out = messages(done.stdout)
    errors = [m["trace"]["error"] for m in out if m["type"] == "TRACE"]
    assert len(errors) == 1, done.stdout
    (error,) = errors
    assert error["failure_type"] == "config_error"
    assert not error.get("stack_trace")
    assert not [m for m in out if m["type"] == "LOG" and m["log"]["level"] == "FATAL"]
    assert "Traceback" not in done.stdout + done.stderr
    assert error["message"] not in done.stderr, done.stderr
    quoted = json.dumps(error["message"], ensure_ascii=False)[1:-1]
    said = [json.dumps(m, ensure_ascii=False).count(quoted) for m in out]
    assert sum(said) == 1, done.stdout  # one message: no LOG repeats the trace
    for text in expected:
        assert text in error["message"], error["message"]
    return error["message"]


def test_no_command():
    assert_one_clear_failure(cli(), "No command given", "check --config CONFIG")


def test_unknown_command():
    assert_one_clear_failure(cli("read"), "Unknown command 'read'", "spec, check, write")


@pytest.mark.parametrize(
    "args, missing",
    [(["check"], "--config"), (["write", "--config", "c.json"], "--catalog")],
)
def test_missing_argument(args, missing):
    assert_one_clear_failure(cli(*args), f"Missing argument {missing}")


def test_spec_with_a_bad_argument():
    assert_one_clear_failure(cli("spec", "--config"), "Unknown argument --config")


@pytest.mark.parametrize("command", ["check", "write"])
def test_missing_config_file(tmp_path, command):
    path = tmp_path / "nope.json"
    args = [command, "--config", str(path)]
    if command == "write":
        args += ["--catalog", str(tmp_path / "catalog.json")]
    assert_one_clear_failure(cli(*args), f"The config file {path} does not exist")


@pytest.mark.parametrize("command", ["check", "write"])
def test_config_file_that_is_not_json_never_shows_its_text(tmp_path, command):
    path = tmp_path / "config.json"
    path.write_text('{"credentials": {"access_token": "pat-na1-0000-secret",}}')
    args = [command, "--config", str(path)] + (
        ["--catalog", str(path)] if command == "write" else []
    )
    done = cli(*args)
    assert_one_clear_failure(done, "is not valid JSON (line 1, column")
    assert "pat-na1-0000-secret" not in done.stdout + done.stderr


def test_config_file_that_is_not_an_object(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("[]")
    assert_one_clear_failure(cli("check", "--config", str(path)), "must hold a JSON object")


@pytest.mark.parametrize("content", [None, "{nope", '{"streams": [{"stream": {}}]}'])
def test_write_with_a_bad_catalog_file(tmp_path, content):
    config, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps({"credentials": PAT}))
    if content is not None:
        catalog_path.write_text(content)
    done = cli("write", "--config", str(config), "--catalog", str(catalog_path))
    assert_one_clear_failure(done, f"The catalog file {catalog_path}")


def test_check_reports_every_problem_with_its_field_before_the_schema_check():
    config = {
        "credentials": {"credentials_title": "Private App Credentials"},
        "max_requests_per_10_seconds": 5000,
        "sync_invoices": "maybe",
    }
    run = run_connector("check", config)
    assert run.returncode == 0
    status = run.status
    assert status["status"] == "FAILED"
    message = status["message"]
    assert message.startswith("Invalid configuration: ")
    assert "credentials.access_token: required for Service Key / Private App credentials" in (
        message
    )
    assert "max_requests_per_10_seconds: must be a whole number from 1 to 1000" in message
    assert "sync_invoices: must be true or false" in message
    assert "was expected" not in message and "is not valid under any" not in message


def test_write_with_a_bad_config_is_one_config_error(tmp_path):
    config, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(json.dumps({"credentials": {}, "default_targeted_object": "deals"}))
    catalog_path.write_text(json.dumps(catalog()))
    done = cli("write", "--config", str(config), "--catalog", str(catalog_path))
    message = assert_one_clear_failure(done, "credentials.credentials_title: required")
    assert "default_targeted_object: must be 'companies' or 'contacts'" in message


def test_write_names_three_wrong_fields_in_one_trace_with_lax_values_refused(tmp_path):
    config, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(
        json.dumps(
            {
                "credentials": {"credentials_title": "Private App Credentials", "access_token": ""},
                "dry_run": "yes",
                "max_requests_per_10_seconds": "100",
            }
        )
    )
    catalog_path.write_text(json.dumps(catalog()))
    done = cli("write", "--config", str(config), "--catalog", str(catalog_path))
    message = assert_one_clear_failure(
        done,
        "credentials.access_token: required for Service Key / Private App credentials",
        "dry_run: must be true or false",
        "max_requests_per_10_seconds: must be a whole number from 1 to 1000",
    )
    assert "does not match the spec" not in message


def test_secrets_of_an_invalid_config_are_never_echoed():
    config = {
        "credentials": {
            "credentials_title": "OAuth Credentials",
            "client_id": "x",
            "client_secret": "oauth-secret-value-1234",
        },
        "object_storage_config": {
            "storage_type": "S3",
            "s3_bucket_name": "b/c",
            "access_key_id": "AKIAEXAMPLEKEY",
            "secret_access_key": "s3-secret-value-5678",
        },
    }
    run = run_connector("check", config)
    message = run.status["message"]
    assert "credentials.refresh_token" in message and "object_storage_config.s3_bucket_name" in (
        message
    )
    for secret in ("oauth-secret-value-1234", "s3-secret-value-5678"):
        assert secret not in run.stdout + run.stderr


# -- docs page › Troubleshooting › Bad configurations: each row, through check ------------


def bad_config_rows() -> list[tuple[str, list[str], str]]:
    body = section(DOCS_PAGE.read_text(encoding="utf-8"), "Bad configurations")
    columns, rows = table_with(body, "config", "field named", "message says")
    found = []
    for row in rows:
        (config,) = code_names(row[columns["config"]])
        fields = code_names(row[columns["field named"]])
        (says,) = code_names(row[columns["message says"]])
        found.append((config, fields, says))
    return found


ROWS = bad_config_rows()


def test_the_docs_list_bad_configurations():
    assert len(ROWS) >= 20


@pytest.mark.parametrize("config, fields, says", ROWS, ids=[r[0][:60] for r in ROWS])
def test_each_bad_configuration_of_the_docs_gets_a_message_naming_its_field(config, fields, says):
    text = re.sub(r"^\{…(, )?", "{" + f'"credentials": {json.dumps(PAT)}' + r"\1", config)
    run = run_connector("check", json.loads(text))
    status = run.status
    assert status["status"] == "FAILED", status
    message = status["message"]
    for field in fields:
        assert re.search(rf"(^|[ ;]){re.escape(field)}: ", message), (field, message)
    assert says in message
    assert "Traceback" not in run.stdout + run.stderr


def test_write_says_overwrite_deletes_nothing(emulator, tmp_path):
    config, catalog_path = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_text(
        json.dumps(
            {
                "credentials": {**PAT, "access_token": PRIVATE_APP_TOKEN},
                "api_base_url": emulator.url,
            }
        )
    )
    overwrite = catalog(["customers"])
    overwrite["streams"][0]["destination_sync_mode"] = "overwrite"
    catalog_path.write_text(json.dumps(overwrite))
    done = cli("write", "--config", str(config), "--catalog", str(catalog_path))
    assert done.returncode == 0, done.stdout[-2000:]
    warnings = [
        m["log"]["message"]
        for m in messages(done.stdout)
        if m["type"] == "LOG" and m["log"]["level"] == "WARN"
    ]
    assert any(
        "customers: destination_sync_mode overwrite is treated as an upsert" in w
        and "nothing in HubSpot is deleted" in w
        for w in warnings
    ), warnings
