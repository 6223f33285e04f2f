"""A message type this protocol version does not know (a newer platform's) is skipped with one
log line, through the real connector process: it is not an unreadable line, so it neither
holds back docs/product.md §8's reconciliation nor fails the sync."""

from __future__ import annotations

import json

from tests.support.harness import make_emulator, private_app_config, record, run_connector
from tests.support.harness import stream_state as state
from tests.support.pipeline import customer, subscription

NEW_TYPE = "DESTINATION_CATALOG_V9"


def sync_lines(subscription_ids):
    lines = [record("customers", customer(1)), state("customers", 1)]
    lines += [record("subscriptions", subscription(i, "c1")) for i in subscription_ids]
    return [*lines, state("subscriptions", 2)]


def summary(run):
    (text,) = [m for m in run.logs if m.startswith("Sync summary")]
    return text


def test_an_unknown_message_type_is_skipped_logged_once_and_reconciliation_still_runs():
    unknown = json.dumps({"type": NEW_TYPE, "destination_catalog": {"streams": []}})
    with make_emulator() as emu:
        first = run_connector("write", private_app_config(emu.url), sync_lines([1, 2]))
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
        assert "terminated subscriptions: 0 marked" in summary(first).splitlines()

        # Subscription 2 ended in Lago (it no longer arrives); the newer platform also sends
        # messages of a type this destination does not know, before and among the records.
        lines = sync_lines([1])
        second = run_connector(
            "write", private_app_config(emu.url), [unknown, *lines[:3], unknown, *lines[3:]]
        )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert second.errors == []
    assert [s["id"] for s in second.states] == [1, 2]
    text = summary(second)
    assert "terminated subscriptions: 1 marked" in text.splitlines(), text
    assert "held back" not in text and "unreadable" not in text
    named = [line for line in second.logs if NEW_TYPE in line]
    assert len(named) == 1, named
    assert "skipped" in named[0]
