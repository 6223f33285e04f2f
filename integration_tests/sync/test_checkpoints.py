"""A STATE does not stop the reading (docs/product.md §9): the loop reads on and writes the
records after a STATE while that STATE waits for its own writes, and echoes it only once they
are in HubSpot. In-process, over real HTTP against the emulator (nothing mocked)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from destination_hubspot_lago.airbyte.incoming import parse_lines, to_json
from tests.support.harness import make_emulator, record, stream_state
from tests.support.pipeline import customer, invoice, pipeline

COMPANY_UPSERT = r"/objects/[^/]+/0-2/batch/upsert$"
CUSTOM_UPSERT = r"/objects/[^/]+/2-\d+/batch/upsert$"
CUSTOMER_THEN_INVOICE = (
    record("customers", customer(1)),
    stream_state("customers", 1),
    record("invoices", invoice(1, "c1")),
    stream_state("invoices", 2),
)


def echoed(p, lines):
    """The messages ``p`` echoes, each with the moment it did."""
    messages = p.run(parse_lines(lines))
    return [(time.monotonic(), json.loads(json.dumps(to_json(m)))) for m in messages]


def test_the_records_after_a_state_are_written_while_it_waits_for_its_own():
    with make_emulator(latency_seconds=0.3) as emu:
        p, deployment = pipeline(emu)
        invoices = deployment.object_type_ids["invoices"]
        lines = list(CUSTOMER_THEN_INVOICE)
        emu.clear_log()
        out = echoed(p, lines)
        assert [m["state"]["id"] for _, m in out] == [1, 2]
        customers_echoed = out[0][0]
        (write,) = [r for r in emu.requests if r["path"].endswith(f"/{invoices}/batch/upsert")]
        # The invoice came after the customers' STATE, and went to HubSpot before that STATE
        # was echoed: the loop read on instead of waiting for the customer's write.
        assert write["started"] < customers_echoed
        # ... and the STATE still came only once its customer was in HubSpot.
        (company,) = [r for r in emu.requests if r["path"].endswith("/0-2/batch/upsert")]
        assert company["finished"] <= customers_echoed


def test_a_rejection_counts_for_the_state_after_its_record_not_the_next_one_echoed():
    with make_emulator(latency_seconds=0.3) as emu:
        p, _ = pipeline(emu)
        lines = [
            *CUSTOMER_THEN_INVOICE,
            # Read while the STATE above waits for invoice i1's write, and rejected at once.
            record("invoices", invoice(2, "c1", lago_id=None)),
            stream_state("invoices", 3),
        ]
        out = [m["state"] for _, m in echoed(p, lines)]
        assert [s["id"] for s in out] == [1, 2, 3]
        assert [s["destinationStats"] for s in out[1:]] == [
            {"recordCount": 1.0, "rejectedRecordCount": 0.0},
            {"recordCount": 1.0, "rejectedRecordCount": 1.0},
        ]
        assert [(r.stream, r.lago_id) for r in p.report.rejections] == [("invoices", "?")]


def test_a_failed_write_after_a_state_still_lets_that_state_be_echoed():
    with make_emulator(latency_seconds=0.05) as emu:
        p, _ = pipeline(emu)
        lines = list(CUSTOMER_THEN_INVOICE)
        # The customer's write is slow; the invoice's, after the customers' STATE, fails the
        # sync while that STATE still waits for it.
        emu.inject_fault("timeout", "POST", COMPANY_UPSERT, delay=1.5)
        emu.inject_fault(403, "POST", CUSTOM_UPSERT)
        out = []
        with pytest.raises(Exception) as failure:
            for message in p.run(parse_lines(lines)):
                out.append(json.loads(json.dumps(to_json(message))))
        assert "403" in str(failure.value) or "permission" in str(failure.value).lower()
        # The customers' STATE was echoed once its customer was in HubSpot; the invoices' not.
        assert [m["state"]["id"] for m in out if m["type"] == "STATE"] == [1]
        assert [c["properties"]["lago_customer_id"] for c in emu.store.objects("companies")] == [
            "c1"
        ]


def test_a_state_is_echoed_while_the_source_is_quiet():
    """The input is read on a thread of its own: a STATE whose writes are in is echoed without
    waiting for the source's next message (a slow page, the next stream's first request)."""
    with make_emulator(latency_seconds=0.05) as emu:
        p, _ = pipeline(emu)
        echoed_one, source_went_on = threading.Event(), threading.Event()

        def source():
            yield record("customers", customer(1))
            yield stream_state("customers", 1)
            echoed_one.wait(timeout=5)  # quiet until the STATE above was echoed (or 5 s)
            source_went_on.set()
            yield record("customers", customer(2))
            yield stream_state("customers", 2)

        states = []
        for message in p.run(parse_lines(source())):
            state_id = json.loads(json.dumps(to_json(message)))["state"]["id"]
            states.append((state_id, source_went_on.is_set()))
            echoed_one.set()
        assert states == [(1, False), (2, True)]  # the first while the source was quiet
