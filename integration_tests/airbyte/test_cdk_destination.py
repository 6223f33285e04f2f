"""The CDK ``Destination`` class, as a host embedding it calls it: the same check and write as
the command line, answers in the CDK's own models, problems as the CDK's traced exceptions,
and every secret (run-time tokens included) masked by the CDK's log filter too."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalogSerializer,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets as cdk_filter_secrets
from airbyte_cdk.utils.airbyte_secrets_utils import update_secrets as cdk_update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from destination_hubspot_lago import DestinationHubspotLago
from destination_hubspot_lago.destination import message_json
from tests.support.harness import (
    catalog,
    make_emulator,
    oauth_config,
    private_app_config,
    record,
    stream_state,
)
from tests.support.scenario import hubspot_state, linked_sample

logger = logging.getLogger("airbyte")


def cdk_messages(lines: list[str]) -> list[AirbyteMessage]:
    return [AirbyteMessageSerializer.load(json.loads(line)) for line in lines]


def test_write_yields_the_cdks_state_messages_after_the_records_are_in_hubspot():
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        lines = [record("customers", c) for c in dataset.customers]
        lines.append(stream_state("customers", 7, 3.0))
        destination = DestinationHubspotLago()
        out = list(
            destination.write(
                private_app_config(emu.url),
                ConfiguredAirbyteCatalogSerializer.load(catalog()),
                cdk_messages(lines),
            )
        )
        written = hubspot_state(emu)
    (state,) = out
    assert isinstance(state, AirbyteMessage) and state.type == Type.STATE
    echoed = AirbyteMessageSerializer.dump(state)["state"]
    assert echoed["stream"]["stream_state"] == {"__ab_no_cursor_state_message": True}
    assert echoed["destinationStats"] == {"recordCount": float(len(dataset.customers))}
    # The CDK's serializer drops what its models do not declare; the object keeps it.
    assert state.state.destinationStats.rejectedRecordCount == 0.0
    lago_ids = {key[1] for key in written if key[0] in ("companies", "contacts")}
    assert {c["lago_id"] for c in dataset.customers} <= lago_ids


def test_a_problem_the_user_can_fix_is_a_cdk_config_error():
    with make_emulator() as emu:
        destination = DestinationHubspotLago()
        with pytest.raises(AirbyteTracedException) as raised:
            list(
                destination.write(
                    private_app_config(emu.url, token="pat-na1-wrong"),
                    ConfiguredAirbyteCatalogSerializer.load(catalog()),
                    [],
                )
            )
    assert raised.value.failure_type == FailureType.config_error
    assert "Private App access token" in str(raised.value.message)


def test_check_answers_the_cdks_status_and_its_filter_masks_run_time_tokens():
    cdk_update_secrets([])  # as the CDK's entrypoint starts a run: its filter knows nothing yet
    with make_emulator() as emu:
        status = DestinationHubspotLago().check(logger, oauth_config(emu.url))
        tokens = [
            r["response"]["access_token"]
            for r in emu.requests
            if r["path"] == "/oauth/2026-09/token" and r["status"] == 200
        ]
    assert status.status == Status.SUCCEEDED, status.message
    assert tokens, "the check never refreshed the OAuth token"
    for token in tokens:
        assert cdk_filter_secrets(f"Bearer {token}") == "Bearer ****"


def state_with_id_and_stats_lines(dataset):
    """The customers, one of them unmappable (no lago_id), then their STATE with the
    platform's id, the source's count and a key this protocol version does not know."""
    lines = [record("customers", c) for c in dataset.customers]
    lines.append(record("customers", {"name": "no lago id"}))
    state = json.loads(stream_state("customers", 7, float(len(dataset.customers) + 1)))
    state["state"]["futureKey"] = {"kept": True}
    lines.append(json.dumps(state))
    return lines


def assert_echoed_with_id_and_both_counts(echoed, dataset):
    assert echoed["type"] == "STATE"
    assert echoed["state"]["id"] == 7
    assert echoed["state"]["futureKey"] == {"kept": True}
    assert echoed["state"]["sourceStats"] == {"recordCount": float(len(dataset.customers) + 1)}
    assert echoed["state"]["destinationStats"] == {
        "recordCount": float(len(dataset.customers) + 1),
        "rejectedRecordCount": 1.0,
    }


def test_write_keeps_the_platforms_state_id_and_both_counts():
    """Input as the CDK's run_cmd reads it (the class's own _parse_input_stream over stdin's
    text wrapper): the STATE that comes out of write() carries the platform's id, the
    record count and the rejected count, as attributes and in its JSON."""
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        lines = state_with_id_and_stats_lines(dataset)
        stdin = io.TextIOWrapper(io.BytesIO(("\n".join(lines) + "\n").encode()), "utf-8")
        destination = DestinationHubspotLago()
        out = list(
            destination.write(
                private_app_config(emu.url),
                ConfiguredAirbyteCatalogSerializer.load(catalog()),
                destination._parse_input_stream(stdin),
            )
        )
    (state,) = out
    assert isinstance(state, AirbyteMessage) and state.type == Type.STATE
    assert state.state.id == 7
    stats = state.state.destinationStats
    assert (stats.recordCount, stats.rejectedRecordCount) == (len(dataset.customers) + 1, 1.0)
    assert_echoed_with_id_and_both_counts(message_json(state), dataset)
    # Still the CDK's model: its own serializer takes it (declared fields only).
    assert AirbyteMessageSerializer.dump(state)["state"]["stream"]["stream_descriptor"] == {
        "name": "customers"
    }


def test_run_prints_the_state_with_the_platforms_id_and_both_counts(tmp_path, monkeypatch, capsys):
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        lines = state_with_id_and_stats_lines(dataset)
        config = tmp_path / "config.json"
        config.write_text(json.dumps(private_app_config(emu.url)))
        configured = tmp_path / "catalog.json"
        configured.write_text(json.dumps(catalog()))
        stdin = io.TextIOWrapper(io.BytesIO(("\n".join(lines) + "\n").encode()), "utf-8")
        monkeypatch.setattr(sys, "stdin", stdin)
        DestinationHubspotLago().run(
            ["write", "--config", str(config), "--catalog", str(configured)]
        )
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    (state,) = [m for m in printed if m["type"] == "STATE"]
    assert_echoed_with_id_and_both_counts(state, dataset)
