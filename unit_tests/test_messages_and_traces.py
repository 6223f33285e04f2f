"""Raw STATE echo, unreadable input lines, and HubSpot errors as Airbyte traces."""

import json

import pytest
from airbyte_cdk.models import FailureType, Type

from destination_hubspot_lago.destination import traced
from destination_hubspot_lago.hubspot import HubSpotError
from destination_hubspot_lago.messages import parse_lines, serialize, set_destination_stats

STATE = {
    "type": "STATE",
    "state": {
        "type": "STREAM",
        "id": 42,
        "stream": {"stream_descriptor": {"name": "invoices"}, "stream_state": {"cursor": 1}},
        "sourceStats": {"recordCount": 3.0},
        "futureKey": {"kept": True},
    },
}


def test_state_is_echoed_from_its_raw_json_with_destination_stats():
    (message,) = list(parse_lines([json.dumps(STATE)]))
    assert message.type == Type.STATE
    set_destination_stats(message.state, records=3, rejected=1)
    echoed = json.loads(serialize(message))
    assert echoed["state"]["id"] == 42
    assert echoed["state"]["futureKey"] == {"kept": True}
    assert echoed["state"]["sourceStats"] == {"recordCount": 3.0}
    assert echoed["state"]["destinationStats"] == {"recordCount": 3.0, "rejectedRecordCount": 1.0}
    assert echoed["state"]["stream"] == STATE["state"]["stream"]


def test_unreadable_lines_are_counted_not_echoed_and_their_content_not_logged(caplog):
    bad: list[int] = []
    lines = ["{not json", json.dumps(STATE), '{"type": "RECORD", "record": "x"}', ""]
    messages = list(parse_lines(lines, bad))
    assert [m.type for m in messages] == [Type.STATE]
    assert bad == [1, 3]
    assert "not json" not in caplog.text


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


def test_each_message_is_one_write_so_threads_cannot_split_a_line(monkeypatch):
    import destination_hubspot_lago.destination as destination

    writes: list[str] = []

    class Buffer:
        def write(self, text: str) -> None:
            writes.append(text)

        def flush(self) -> None:
            writes.append("<flush>")

    monkeypatch.setattr(destination, "PRINT_BUFFER", Buffer())
    (message,) = list(parse_lines([json.dumps(STATE)]))
    destination.emit(message)
    assert writes[0].endswith("\n") and writes[0].count("\n") == 1
    assert json.loads(writes[0])["state"]["id"] == 42
    assert writes[1] == "<flush>"  # a state is never held back
