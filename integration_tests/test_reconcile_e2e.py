"""§8 end to end: fake Lago -> real source-getlago manifest -> write pipeline -> reconciliation.

The pipeline does not call ``reconcile.py`` yet; ``sync`` below does what its wiring will do
(feed ``SyncObservations`` from the messages, call ``reconcile_terminated`` after the input),
so these tests pin the behaviour the wiring must keep.
"""

from __future__ import annotations

import json

import pytest

from destination_hubspot_lago.config import DestinationConfig
from destination_hubspot_lago.destination import prepare
from destination_hubspot_lago.messages import parse_lines
from destination_hubspot_lago.pipeline import WritePipeline, stream_kind
from destination_hubspot_lago.reconcile import Guard, SyncObservations, reconcile_terminated
from integration_tests.conftest import make_emulator
from integration_tests.fake_lago import FakeLago
from integration_tests.fake_lago.source_runner import (
    default_manifest_path,
    read_with_source_manifest,
)
from integration_tests.harness import private_app_config
from integration_tests.scenario import linked_sample, with_state_ids

if not default_manifest_path().exists():
    pytest.skip(
        f"source-getlago manifest not found at {default_manifest_path()} (set LAGO_MANIFEST_PATH)",
        allow_module_level=True,
    )


def sync(emu, lines, streams=("customers", "subscriptions", "invoices"), **config):
    parsed = DestinationConfig.parse(private_app_config(emu.url, **config))
    client, deployment = prepare(parsed)
    list(WritePipeline(parsed, client, deployment).run(parse_lines(lines)))
    observed = SyncObservations()
    for message in map(json.loads, lines):
        if message["type"] == "RECORD":
            observed.record(stream_kind(message["record"]["stream"]), message["record"]["data"])
        elif message["type"] == "STATE":
            state = message["state"]
            name = (state.get("stream") or {}).get("stream_descriptor", {}).get("name")
            observed.state(stream_kind(name) if state.get("type") == "STREAM" else None)
    return reconcile_terminated(
        client,
        subscriptions_type_id=deployment.object_type_ids.get("subscriptions"),
        seen_customers=observed.customers,
        arrived_subscriptions=observed.subscriptions,
        facts=observed.facts(
            in_catalog="subscriptions" in streams, enabled=parsed.sync_subscriptions
        ),
        mode=parsed.terminated_subscriptions,
        dry_run=parsed.dry_run,
    )


def statuses(emu):
    (subs,) = [s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoSubscriptions"]
    return {
        r["properties"]["lago_subscription_id"]: r["properties"].get("lago_subscription_status")
        for r in emu.store.objects(subs)
    }


GONE = "sub-globex-enterprise"


@pytest.fixture(scope="module")
def reads():
    """The source's output before and after GONE was terminated, and GONE's Lago id.

    Read once: the emulator's ids are deterministic, so every fresh portal seeded by
    ``linked_sample`` gets the same links the messages carry.
    """
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
    with FakeLago(dataset=dataset, api_key="lago-key") as lago:
        before = with_state_ids(read_with_source_manifest(lago.url, "lago-key"))
        gone = lago.terminate_subscription(GONE)["lago_id"]
        after = with_state_ids(read_with_source_manifest(lago.url, "lago-key"))
    return before, after, gone


@pytest.fixture
def emu():
    with make_emulator() as emulator:
        linked_sample(emulator.store)
        yield emulator


def test_a_subscription_terminated_between_two_syncs_ends_terminated(emu, reads):
    first_lines, second_lines, gone = reads
    first = sync(emu, first_lines)
    assert first.guard is None and first.marked == []
    before = statuses(emu)
    assert before[gone] == "active"
    assert not any(gone in line for line in second_lines)  # it simply stopped arriving

    second = sync(emu, second_lines)
    assert second.marked == [gone]
    assert statuses(emu) == {**before, gone: "terminated"}

    third = sync(emu, second_lines)
    assert third.marked == [] and third.guard is None
    assert statuses(emu) == {**before, gone: "terminated"}


@pytest.mark.parametrize(
    "cut, config, guard",
    [
        ("no_subscriptions_stream", {}, Guard.NOT_IN_CATALOG),
        ("no_state_after_subscriptions", {}, Guard.INCOMPLETE),
        ("empty_subscriptions", {}, Guard.EMPTY),
        ("all", {"sync_subscriptions": False}, Guard.SWITCHED_OFF),
        ("all", {"terminated_subscriptions": "off"}, Guard.OFF),
    ],
)
def test_absent_empty_or_broken_streams_leave_every_record_as_it_was(
    emu, reads, cut, config, guard
):
    first_lines, lines, _ = reads
    sync(emu, first_lines)
    before = statuses(emu)
    streams = ("customers", "subscriptions", "invoices")
    if cut == "no_subscriptions_stream":
        lines = [ln for ln in lines if '"subscriptions"' not in ln]
        streams = ("customers", "invoices")
    elif cut == "no_state_after_subscriptions":
        last = max(i for i, ln in enumerate(lines) if '"stream": "subscriptions"' in ln)
        lines = lines[: last + 1]  # the source died after its last subscription
    elif cut == "empty_subscriptions":
        lines = [ln for ln in lines if not ('"RECORD"' in ln and '"subscriptions"' in ln)]
    outcome = sync(emu, lines, streams=streams, **config)
    assert outcome.guard is guard and outcome.marked == []
    assert statuses(emu) == before


def test_dry_run_lists_the_subscription_and_changes_nothing(emu, reads):
    first_lines, second_lines, gone = reads
    sync(emu, first_lines)
    before = statuses(emu)
    outcome = sync(emu, second_lines, dry_run=True)
    assert outcome.would_mark == [gone]
    assert statuses(emu) == before
