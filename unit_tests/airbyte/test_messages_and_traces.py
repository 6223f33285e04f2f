"""Raw STATE echo, unreadable input lines, the catalog, HubSpot errors as Airbyte traces, and
the messages we print, as the CDK would print them."""

import io
import json
import logging
import sys
import threading

import pytest
from airbyte_protocol_dataclasses.models import (
    AirbyteStateType,
    DestinationSyncMode,
    FailureType,
    Type,
)

from destination_hubspot_lago.airbyte import outgoing, secrets
from destination_hubspot_lago.airbyte.incoming import (
    InputError,
    parse_catalog,
    parse_lines,
    set_destination_stats,
    to_json,
)
from destination_hubspot_lago.connector import traced
from destination_hubspot_lago.hubspot import HubSpotError
from destination_hubspot_lago.sync.input_checks import sync_mode_warnings

STATE = {
    "type": "STATE",
    "state": {
        "type": "STREAM",
        "id": 42,
        "stream": {
            "stream_descriptor": {"name": "invoices", "namespace": "lago"},
            "stream_state": {"cursor": 1},
        },
        "sourceStats": {"recordCount": 3.0},
        "futureKey": {"kept": True},
    },
}


def test_state_is_echoed_from_its_raw_json_with_destination_stats():
    (message,) = list(parse_lines([json.dumps(STATE)]))
    assert message.type == Type.STATE
    assert message.state.type == AirbyteStateType.STREAM
    descriptor = message.state.stream.stream_descriptor
    assert (descriptor.name, descriptor.namespace) == ("invoices", "lago")
    set_destination_stats(message.state, records=3, rejected=1)
    echoed = json.loads(json.dumps(to_json(message)))
    assert echoed["state"]["id"] == 42
    assert echoed["state"]["futureKey"] == {"kept": True}
    assert echoed["state"]["sourceStats"] == {"recordCount": 3.0}
    assert echoed["state"]["destinationStats"] == {"recordCount": 3.0, "rejectedRecordCount": 1.0}
    assert echoed["state"]["stream"] == STATE["state"]["stream"]
    assert "destinationStats" not in STATE["state"]  # the input is not changed


def test_records_keep_stream_namespace_and_data_and_bytes_are_read_as_utf8():
    line = json.dumps(
        {
            "type": "RECORD",
            "record": {"stream": "customers", "namespace": "n", "data": {"name": "Ünï 🚀"}},
        },
        ensure_ascii=False,
    ).encode()
    (message,) = list(parse_lines([line]))
    assert message.type == Type.RECORD
    assert (message.record.stream, message.record.namespace) == ("customers", "n")
    assert message.record.data == {"name": "Ünï 🚀"}


def test_unreadable_lines_are_counted_not_echoed_and_their_content_not_logged(caplog):
    bad: list[int] = []
    lines = [
        "{not json",
        json.dumps(STATE),
        '{"type": "RECORD", "record": "x"}',
        "",
        '{"no_type": "at all"}',
        "[1, 2]",
        '{"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {}}}}',
        '{"type": "LOG", "log": {"level": "INFO", "message": "a source log"}}',
        '{"type": 7}',
        '{"type": null}',
        '"RECORD"',
    ]
    messages = list(parse_lines(lines, bad))
    assert [m.type for m in messages] == [Type.STATE, Type.LOG]
    assert bad == [1, 3, 5, 6, 7, 9, 10, 11]
    assert "not json" not in caplog.text


def test_a_message_type_this_protocol_does_not_know_is_skipped_and_logged_once_per_type(caplog):
    bad: list[int] = []
    lines = [
        '{"type": "DESTINATION_CATALOG_V9", "destination_catalog": {}}',
        json.dumps(STATE),
        '{"type": "DESTINATION_CATALOG_V9", "destination_catalog": {"again": 1}}',
        '{"type": "AN_EVEN_NEWER_ONE"}',
        '{"type": "LOG", "log": {"level": "INFO", "message": "a source log"}}',
    ]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        messages = list(parse_lines(lines, bad))
    assert [m.type for m in messages] == [Type.STATE, Type.LOG]
    assert bad == []  # not unreadable: nothing holds back reconciliation or fails the sync
    named = [r.getMessage() for r in caplog.records if "DESTINATION_CATALOG_V9" in r.getMessage()]
    assert len(named) == 1 and "line 1" in named[0] and "skipped" in named[0]
    assert len([r for r in caplog.records if "AN_EVEN_NEWER_ONE" in r.getMessage()]) == 1


def test_a_catalog_keeps_a_destination_sync_mode_it_does_not_know_for_the_warning():
    def stream(name, mode):
        return {
            "stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh",
            "destination_sync_mode": mode,
        }

    catalog = parse_catalog({"streams": [stream("a", "append_dedup"), stream("b", "replace_all")]})
    assert [s.stream.name for s in catalog.streams] == ["a", "b"]
    assert catalog.streams[0].destination_sync_mode == DestinationSyncMode.append_dedup
    (warning,) = sync_mode_warnings(catalog)
    assert "Stream b: destination_sync_mode replace_all is not a mode" in warning
    with pytest.raises(InputError, match=r"streams\[1\]\.stream\.name"):
        parse_catalog({"streams": [stream("a", "append"), {"stream": {}}]})


@pytest.mark.parametrize(
    "status, body, failure",
    [
        (401, {"category": "INVALID_AUTHENTICATION"}, FailureType.config_error),
        (403, {"category": "MISSING_SCOPES"}, FailureType.config_error),
        (429, {"policyName": "DAILY"}, FailureType.transient_error),
        (503, {}, FailureType.transient_error),
        (400, {"category": "VALIDATION_ERROR"}, FailureType.system_error),
    ],
)
def test_hubspot_errors_become_traces_of_the_right_failure_type(status, body, failure):
    error = HubSpotError.from_response(status, json.dumps({"message": "m", **body}), "GET /x")
    exc = traced(error)
    assert exc.failure_type == failure
    assert exc.message and "HubSpot answered" in exc.message
    trace = outgoing.trace_message(exc.message, exc.failure_type, exc.internal_message)
    assert trace["trace"]["error"]["failure_type"] == failure.value


class Stdout:
    """A stdout whose binary buffer records each write call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        outer = self

        class Buffer(io.RawIOBase):
            def write(self, data):  # type: ignore[override]
                outer.writes.append(bytes(data))
                return len(data)

        self.buffer = Buffer()

    def flush(self) -> None:
        pass


def test_each_message_is_one_write_so_threads_cannot_split_a_line(monkeypatch):
    out = Stdout()
    monkeypatch.setattr(sys, "stdout", out)
    (message,) = list(parse_lines([json.dumps(STATE)]))
    outgoing.emit(to_json(message))
    handler = outgoing.AirbyteLogHandler()
    log = logging.getLogger("test.threads")
    log.addHandler(handler)
    log.propagate = False
    try:
        threads = [
            threading.Thread(target=lambda n=n: log.warning("line %d\nsecond row", n))
            for n in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        log.removeHandler(handler)
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in out.writes)
    assert json.loads(out.writes[0])["state"]["id"] == 42
    logs = sorted(json.loads(w)["log"]["message"] for w in out.writes[1:])
    assert logs == sorted(f"line {n}\nsecond row" for n in range(20))


def test_log_trace_status_and_control_lines_have_the_cdks_shape(monkeypatch):
    out = Stdout()
    monkeypatch.setattr(sys, "stdout", out)
    secrets.update_secrets(["s3cr3t-value"])
    log = logging.getLogger("test.shape")
    handler = outgoing.AirbyteLogHandler()
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("token s3cr3t-value refused")
        try:
            raise RuntimeError("boom s3cr3t-value")
        except RuntimeError:
            log.critical("failed", exc_info=True)
        log.log(35, "a custom level")  # between WARNING and ERROR
    finally:
        log.removeHandler(handler)
    outgoing.emit(outgoing.trace_message("fix s3cr3t-value", FailureType.config_error))
    outgoing.emit(outgoing.connection_status_message(False, "no s3cr3t-value"))
    outgoing.emit(outgoing.control_config_message({"credentials": {"refresh_token": "new"}}))
    lines = [w.decode() for w in out.writes]
    assert lines[0] == '{"type":"LOG","log":{"level":"ERROR","message":"token **** refused"}}\n'
    fatal = json.loads(lines[1])["log"]
    assert fatal["level"] == "FATAL" and fatal["message"].startswith("failed\nTraceback")
    assert "RuntimeError: boom ****" in fatal["message"]
    assert json.loads(lines[2])["log"] == {"level": "INFO", "message": "a custom level"}
    trace = json.loads(lines[3])
    assert isinstance(trace["trace"].pop("emitted_at"), float)
    assert trace == {
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "error": {"message": "fix ****", "failure_type": "config_error"},
        },
    }
    assert lines[4] == (
        '{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"no ****"}}\n'
    )
    control = json.loads(lines[5])["control"]
    assert control["type"] == "CONNECTOR_CONFIG" and isinstance(control["emitted_at"], float)
    assert control["connectorConfig"] == {"config": {"credentials": {"refresh_token": "new"}}}
    assert "s3cr3t" not in "".join(lines)


def test_secrets_are_masked_longest_first_and_stay_masked():
    secrets.update_secrets(["abc-token"])
    secrets.update_secrets(["abc-token-rotated", None, ""])  # adds; never replaces
    text = secrets.filter_secrets("a abc-token-rotated b abc-token c")
    assert text == "a **** b **** c"


def test_config_secrets_are_found_in_every_oneof_branch():
    spec = {
        "properties": {
            "credentials": {
                "oneOf": [
                    {"properties": {"access_token": {"type": "string", "airbyte_secret": True}}},
                    {
                        "properties": {
                            "client_secret": {"type": "string", "airbyte_secret": True},
                            "refresh_token": {"type": "string", "airbyte_secret": True},
                            "client_id": {"type": "string"},
                        }
                    },
                ]
            },
            "storage": {"properties": {"key": {"airbyte_secret": True}}},
            "api_base_url": {"type": "string"},
        }
    }
    config = {
        "credentials": {"client_id": "id", "client_secret": "cs", "refresh_token": "rt"},
        "storage": "none",
        "api_base_url": "u",
    }
    assert sorted(secrets.config_secrets(spec, config)) == ["cs", "rt"]
