"""How a command-line run ends: every line on stdout an Airbyte message, a bug a
``system_error`` trace pointing to the issue tracker (never a bare traceback), secrets masked."""

from __future__ import annotations

import json
import logging

import pytest

from destination_hubspot_lago import connector, run
from destination_hubspot_lago.connector import ISSUES_URL
from tests.support.harness import PRIVATE_APP_TOKEN, catalog, private_app_config


@pytest.fixture(autouse=True)
def keep_root_handlers():
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield
    root.handlers = handlers


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(private_app_config("http://127.0.0.1:9")))
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog()))
    return str(config), str(catalog_path)


def messages(out: str) -> list[dict]:
    lines = out.splitlines()
    parsed = [json.loads(line) for line in lines]  # every line is one JSON message
    return parsed


def test_a_bug_in_write_ends_with_a_system_error_trace_naming_the_issue_tracker(
    monkeypatch, capsys, files
):
    def broken(*args, **kwargs):
        raise RuntimeError(f"boom near {PRIVATE_APP_TOKEN}")

    monkeypatch.setattr(connector, "write", broken)
    config, catalog_path = files
    code = run.main(["write", "--config", config, "--catalog", catalog_path])
    out, err = capsys.readouterr()
    assert code == 1
    sent = messages(out)
    fatal = [m["log"] for m in sent if m["type"] == "LOG" and m["log"]["level"] == "FATAL"]
    assert fatal and "Traceback" in fatal[0]["message"]
    (trace,) = [m["trace"]["error"] for m in sent if m["type"] == "TRACE"]
    assert trace["failure_type"] == "system_error"
    assert "This is a bug in the connector" in trace["message"] and ISSUES_URL in trace["message"]
    assert trace["internal_message"] == "boom near ****"
    assert "RuntimeError" in trace["stack_trace"]
    assert trace["message"] not in err  # one message, on stdout only
    assert PRIVATE_APP_TOKEN not in out + err


def test_a_bug_in_check_is_a_failed_status_naming_the_issue_tracker(monkeypatch, capsys, files):
    def broken(*args, **kwargs):
        raise KeyError("portal")

    monkeypatch.setattr(connector, "prepare", broken)
    code = run.main(["check", "--config", files[0]])
    out, _ = capsys.readouterr()
    assert code == 0
    (status,) = [m["connectionStatus"] for m in messages(out) if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED"
    assert status["message"].startswith("Unexpected error (KeyError). This is a bug")
    assert ISSUES_URL in status["message"]
