"""The write pipeline in-process, over real HTTP against the emulator (nothing mocked)."""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import pytest

from destination_hubspot_lago.airbyte.incoming import parse_lines, to_json
from destination_hubspot_lago.sync.loop import RecordsRejected
from tests.support.harness import make_emulator, record, stream_state
from tests.support.pipeline import customer, invoice, lago_ids, pipeline, run_all, subscription


def calls(emu, suffix):
    return Counter(
        r["path"].split("/")[4]  # /crm/{objects|associations}/{version}/{from type}/…
        for r in emu.mutating_requests()
        if r["path"].endswith(suffix)
    )


@pytest.fixture
def emu():
    with make_emulator(latency_seconds=0.01) as emulator:
        yield emulator


def test_each_state_is_echoed_only_after_everything_before_it_is_in_hubspot(emu):
    p, deployment = pipeline(emu)
    subs_type = deployment.object_type_ids["subscriptions"]
    lines = []
    for batch in range(3):
        lines += [record("customers", customer(batch * 50 + i)) for i in range(50)]
        lines += [
            record("subscriptions", subscription(batch * 50 + i, f"c{batch * 50 + i}"))
            for i in range(50)
        ]
        lines.append(stream_state("subscriptions", batch))
    seen_states = 0
    for message in p.run(parse_lines(lines)):
        seen_states += 1
        expected = {f"s{i}" for i in range(seen_states * 50)}
        assert expected <= set(lago_ids(emu, subs_type, "lago_subscription_id"))
        companies = lago_ids(emu, "companies", "lago_customer_id")
        assert {f"c{i}" for i in range(seen_states * 50)} <= set(companies)
        # ... and associated with their customer.
        for i in range(seen_states * 50):
            sub_id = lago_ids(emu, subs_type, "lago_subscription_id")[f"s{i}"]["id"]
            assert {a[3] for a in emu.store.associations(subs_type, sub_id)} == {
                companies[f"c{i}"]["id"]
            }
        assert json.loads(json.dumps(to_json(message)))["state"]["id"] == seen_states - 1
        stats = json.loads(json.dumps(to_json(message)))["state"]["destinationStats"]
        assert stats == {"recordCount": 50.0, "rejectedRecordCount": 0.0}  # this stream only
    assert seen_states == 3


def test_calls_are_batched_by_one_hundred(emu):
    n = 450
    p, deployment = pipeline(emu)
    emu.clear_log()
    lines = [record("customers", customer(i)) for i in range(n // 10)]
    lines += [record("subscriptions", subscription(i, f"c{i % (n // 10)}")) for i in range(n)]
    lines += [record("invoices", invoice(i, f"c{i % (n // 10)}")) for i in range(n)]
    lines.append(stream_state("invoices", 1))
    run_all(p, lines)
    sub_type, inv_type = (
        deployment.object_type_ids["subscriptions"],
        deployment.object_type_ids["invoices"],
    )
    upserts = calls(emu, "/batch/upsert")
    assert upserts[sub_type] == upserts[inv_type] == math.ceil(n / 100)
    assert upserts["0-2"] == 1
    associations = calls(emu, "/batch/create")  # typed associations (objects use upsert)
    assert 0 < associations[sub_type] + associations[inv_type] <= 2 * math.ceil(n / 100) + 2
    assert len(emu.mutating_requests()) <= 2 * math.ceil(n / 100) * 2 + 4


def test_rejected_records_are_reported_once_and_everything_else_is_written(emu, caplog):
    p, deployment = pipeline(emu)
    sub_type = deployment.object_type_ids["subscriptions"]
    subs = [subscription(i, "c1") for i in range(100)]
    subs[17]["billing_time"] = "weekly"  # not an option of lago_billing_time: HubSpot says 400
    subs[63]["billing_time"] = "fortnightly"
    lines = [record("customers", customer(1))] + [record("subscriptions", s) for s in subs]
    lines += [record("invoices", invoice(1, "c1", total_amount_cents="12.5"))]  # mapping rejects it
    lines.append(stream_state("subscriptions", 7))
    lines.append(stream_state("invoices", 8))
    caplog.set_level("INFO", logger="airbyte")
    out = run_all(p, lines)  # no exception: rejected records do not fail the sync
    stats = [m["state"]["destinationStats"] for m in out]
    assert stats == [
        {"recordCount": 100.0, "rejectedRecordCount": 2.0},
        {"recordCount": 1.0, "rejectedRecordCount": 1.0},
    ]
    written = lago_ids(emu, sub_type, "lago_subscription_id")
    assert set(written) == {f"s{i}" for i in range(100)} - {"s17", "s63"}
    rejected = {(r.stream, r.lago_id): r for r in p.report.rejections}
    assert set(rejected) == {("subscriptions", "s17"), ("subscriptions", "s63"), ("invoices", "i1")}
    assert rejected[("subscriptions", "s17")].category == "VALIDATION_ERROR"
    assert "weekly" in rejected[("subscriptions", "s17")].message
    assert "total_amount_cents" in rejected[("invoices", "i1")].message
    summary = next(r.getMessage() for r in caplog.records if "Sync summary" in r.getMessage())
    assert "rejected records: 3 (invoices 1, subscriptions 2)" in summary
    assert "subscriptions s17: VALIDATION_ERROR" in summary and "invoices i1" in summary
    assert "not stored (set object_storage_config" in summary


def test_every_record_of_a_stream_refused_for_one_reason_fails_after_every_state(emu):
    p, deployment = pipeline(emu)
    sub_type = deployment.object_type_ids["subscriptions"]
    emu.store.require_on_create(sub_type, "lago_subscription_name")  # an admin rule
    lines = [record("customers", customer(1)), stream_state("customers", 1)]
    lines += [record("subscriptions", subscription(i, "c1")) for i in range(6)]
    lines += [stream_state("subscriptions", 2)]
    out = []
    with pytest.raises(RecordsRejected) as info:
        for message in p.run(parse_lines(lines)):
            out.append(json.loads(json.dumps(to_json(message))))
    assert [m["state"]["destinationStats"]["rejectedRecordCount"] for m in out] == [0.0, 6.0]
    message = str(info.value)
    assert "Every one of the 6 subscriptions records was rejected for the same reason" in message
    assert "lago_subscription_name" in message
    assert set(lago_ids(emu, "companies", "lago_customer_id")) == {"c1"}


def test_a_stream_refused_for_two_reasons_is_bad_data_not_a_systemic_fault(emu):
    p, _ = pipeline(emu)
    subs = [subscription(i, "c1", billing_time="weekly") for i in range(6)]
    subs[0]["billing_time"] = "calendar"
    subs[0]["lago_id"] = ""  # rejected by the mapping: another reason
    out = run_all(p, [record("subscriptions", s) for s in subs] + [stream_state("subs", 1)])
    assert len(out) == 1 and len(p.report.rejections) == 6


def test_unique_value_conflict_isolates_the_offending_contact(emu):
    p, _ = pipeline(emu, default_targeted_object="contacts")
    people = [customer(i, customer_type="individual", email=f"p{i}@example.com") for i in range(30)]
    people[12]["external_id"] = people[5]["external_id"]  # unique on contacts: a 409 for the batch
    run_all(p, [record("customers", c) for c in people] + [stream_state("customers", 1)])
    contacts = lago_ids(emu, "contacts", "lago_customer_id")
    assert len(contacts) == 29
    (rejection,) = p.report.rejections
    assert rejection.lago_id in ("c5", "c12") and rejection.lago_id not in contacts
    assert upsert_statuses(emu).get(409)


def upsert_statuses(emu):
    return Counter(r["status"] for r in emu.requests if r["path"].endswith("/batch/upsert"))


def test_invoice_before_its_customer_is_associated_when_the_customer_arrives(emu):
    p, deployment = pipeline(emu)
    inv_type = deployment.object_type_ids["invoices"]
    lines = [record("invoices", invoice(1, "late")), stream_state("invoices", 1)]
    lines += [record("customers", customer("late")), stream_state("customers", 2)]
    lines = [line.replace('"lago_id": "clate"', '"lago_id": "late"') for line in lines]
    run_all(p, lines)
    inv = lago_ids(emu, inv_type, "lago_invoice_id")["i1"]
    company = lago_ids(emu, "companies", "lago_customer_id")["late"]
    assert {a[3] for a in emu.store.associations(inv_type, inv["id"])} == {company["id"]}
    assert p.report.missing_associations == []


def test_customer_from_an_earlier_sync_is_found_in_hubspot(emu):
    p, _ = pipeline(emu)
    run_all(p, [record("customers", customer(9)), stream_state("customers", 1)])
    p2, deployment = pipeline(emu)
    run_all(p2, [record("invoices", invoice(1, "c9")), stream_state("invoices", 2)])
    inv_type = deployment.object_type_ids["invoices"]
    inv = lago_ids(emu, inv_type, "lago_invoice_id")["i1"]
    company = lago_ids(emu, "companies", "lago_customer_id")["c9"]
    assert {a[3] for a in emu.store.associations(inv_type, inv["id"])} == {company["id"]}


def test_record_whose_customer_never_appears_is_written_and_reported(emu):
    p, deployment = pipeline(emu)
    states = run_all(p, [record("invoices", invoice(1, "ghost")), stream_state("invoices", 1)])
    assert len(states) == 1
    assert "i1" in lago_ids(emu, deployment.object_type_ids["invoices"], "lago_invoice_id")
    assert [(s, i) for s, i, _ in p.report.missing_associations] == [("invoices", "i1")]
    assert p.report.rejections == []


def test_contact_with_an_existing_email_is_adopted_not_duplicated(emu):
    existing = emu.store.create_object("contacts", {"email": "ada@example.com", "firstname": "Ada"})
    p, _ = pipeline(emu)
    person = customer(
        1, customer_type="individual", email="Ada@Example.com", firstname="Ada", lastname="Lovelace"
    )
    run_all(p, [record("customers", person), stream_state("customers", 1)])
    contacts = emu.store.objects("contacts")
    assert len(contacts) == 1
    assert contacts[0]["id"] == existing["id"]
    assert contacts[0]["properties"]["lago_customer_id"] == "c1"
    assert contacts[0]["properties"]["lastname"] == "Lovelace"
    assert p.report.adopted_contacts == 1


def test_email_of_another_lago_customer_is_not_stolen(emu):
    p, _ = pipeline(emu)
    a = customer(1, customer_type="individual", email="shared@example.com")
    b = customer(2, customer_type="individual", email="shared@example.com")
    run_all(p, [record("customers", a), stream_state("customers", 1)])
    run_all(pipeline(emu)[0], [record("customers", b), stream_state("customers", 2)])
    contacts = lago_ids(emu, "contacts", "lago_customer_id")
    assert contacts["c1"]["properties"]["email"] == "shared@example.com"
    assert "email" not in contacts["c2"]["properties"] or not contacts["c2"]["properties"]["email"]
    assert contacts["c2"]["properties"]["lago_billing_email"] == "shared@example.com"


def test_duplicates_in_one_batch_keep_the_last_record(emu):
    p, deployment = pipeline(emu)
    lines = [
        record("customers", customer(1)),
        record("invoices", invoice(1, "c1", number="OLD")),
        record("invoices", invoice(1, "c1", number="NEW")),
        stream_state("invoices", 1),
    ]
    run_all(p, lines)
    (inv,) = emu.store.objects(deployment.object_type_ids["invoices"])
    assert inv["properties"]["lago_invoice_number"] == "NEW"


def test_prefixed_streams_are_recognised_and_others_skipped(emu):
    p, deployment = pipeline(emu, sync_invoices=False)
    lines = [
        record("lago_customers", customer(1)),
        record("lago_subscriptions", subscription(1, "c1")),
        record("lago_invoices", invoice(1, "c1")),
        record("lago_plans", {"lago_id": "p1"}),
        record("lago_plans", {"lago_id": "p2"}),
        stream_state("lago_plans", 1),
    ]
    run_all(p, lines)
    assert lago_ids(emu, "companies", "lago_customer_id").keys() == {"c1"}
    assert lago_ids(
        emu, deployment.object_type_ids["subscriptions"], "lago_subscription_id"
    ).keys() == {"s1"}
    assert emu.store.objects(deployment.object_type_ids["invoices"]) == []
    assert p.report.received["invoices"] == 0
    assert p.report.received["plans"] == 2  # consumed for §6 billing values, behind the prefix


def test_faults_and_rate_limit_pressure_still_end_complete():
    with make_emulator(
        fault_rate=0.08, fault_seed=7, rate_limit_max=12, rate_limit_interval_ms=1000
    ) as emu:
        p, deployment = pipeline(emu)
        lines = [record("customers", customer(i)) for i in range(120)]
        lines += [record("subscriptions", subscription(i, f"c{i % 120}")) for i in range(300)]
        lines += [record("invoices", invoice(i, f"c{i % 120}")) for i in range(300)]
        lines.append(stream_state("invoices", 1))
        # A burst of 429s from an outside app sharing nothing but bad luck.
        emu.inject_fault(status=429, method="POST", path_regex=r"/batch/upsert$", times=3)
        states = run_all(p, lines)
        assert len(states) == 1
        faults = Counter(
            r["status"] for r in emu.requests if r["status"] in (423, 429, 502, 503, 504)
        )
        assert sum(faults.values()) >= 5, faults
        assert len(lago_ids(emu, "companies", "lago_customer_id")) == 120
        subs_type, inv_type = (
            deployment.object_type_ids["subscriptions"],
            deployment.object_type_ids["invoices"],
        )
        assert len(lago_ids(emu, subs_type, "lago_subscription_id")) == 300
        assert len(lago_ids(emu, inv_type, "lago_invoice_id")) == 300
        assert len(emu.store.associations(inv_type)) == 300
        assert p.report.rejections == [] and p.report.missing_associations == []


def test_a_2xx_without_results_or_errors_fails_the_sync_before_the_state(emu):
    p, _ = pipeline(emu)
    empty = {"status": "COMPLETE", "results": [], "startedAt": "x", "completedAt": "x"}
    emu.inject_fault(status=200, method="POST", path_regex=r"/batch/upsert$", times=1, body=empty)
    out = []
    with pytest.raises(Exception, match="neither results nor errors"):
        for message in p.run(
            parse_lines([record("customers", customer(1)), stream_state("customers", 1)])
        ):
            out.append(message)
    assert out == []  # the state was not echoed


def test_connection_resets_and_timeouts_are_absorbed(emu):
    p, deployment = pipeline(emu)
    p.client.transport.timeout = (5.0, 1.0)  # read timeout short enough for the test
    emu.inject_fault(status="reset", method="POST", path_regex=r"/batch/upsert$", times=2)
    emu.inject_fault(
        status="timeout",
        method="POST",
        path_regex=r"/crm/associations/[^/]+/[^/]+/[^/]+/batch/create$",
        times=1,
        delay=2.0,
    )
    lines = [
        record("customers", customer(1)),
        record("invoices", invoice(1, "c1")),
        stream_state("invoices", 1),
    ]
    assert len(run_all(p, lines)) == 1
    inv_type = deployment.object_type_ids["invoices"]
    assert set(lago_ids(emu, inv_type, "lago_invoice_id")) == {"i1"}
    assert len(emu.store.associations(inv_type)) == 1
    assert p.client.stats.retries >= 3


def test_buffers_are_flushed_on_time_even_without_a_state(emu):
    p, _ = pipeline(emu, tuning={"flush_interval": 0.0})
    seen_before_end = []

    def lines():
        yield record("customers", customer(1))
        yield record("customers", customer(2))  # its arrival lets the timer flush c1
        deadline = time.monotonic() + 20  # a flushed c1 lands within ms; unflushed, never
        while "c1" not in lago_ids(emu, "companies", "lago_customer_id"):
            assert time.monotonic() < deadline, "c1 was not flushed before the input ended"
            time.sleep(0.02)
        seen_before_end.append(True)

    list(p.run(parse_lines(lines())))
    assert seen_before_end == [True]


def test_a_blank_lago_value_never_clears_a_hubspot_value(emu):
    p, _ = pipeline(emu)
    run_all(
        p,
        [
            record("customers", customer(1, phone="+1 555", city="Paris")),
            stream_state("customers", 1),
        ],
    )
    p, _ = pipeline(emu)
    run_all(
        p, [record("customers", customer(1, phone="", city=None)), stream_state("customers", 2)]
    )
    props = lago_ids(emu, "companies", "lago_customer_id")["c1"]["properties"]
    assert (props["phone"], props["city"]) == ("+1 555", "Paris")


def test_long_writes_log_progress_and_end_with_a_summary(emu, caplog):
    p, _ = pipeline(emu, tuning={"progress_interval": 0.0})
    lines = [record("customers", customer(i)) for i in range(5)] + [stream_state("customers", 1)]
    with caplog.at_level("INFO", logger="airbyte"):
        run_all(p, lines)
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress:")]
    assert progress
    for field in (
        "records received",
        "written",
        "rejected",
        "records/s",
        "API calls",
        "pacing",
        "429s",
    ):
        assert field in progress[-1]
    summary = next(
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Sync summary")
    )
    assert "companies" in summary and "API calls" in summary and "elapsed" in summary
    # Logs name Lago ids at most: no customer names or emails.
    assert not any("Customer 1" in r.getMessage() for r in caplog.records)


def test_the_last_version_of_a_record_is_the_one_hubspot_keeps(emu):
    p, deployment = pipeline(emu, tuning={"batch_size": 1})  # every version in its own batch
    # The first version's batch is slow: without ordering, later versions would land first.
    emu.inject_fault(
        status="timeout", method="POST", path_regex=r"/batch/upsert$", times=1, delay=0.5
    )
    versions = [record("invoices", invoice(1, "c1", number=f"V{n}")) for n in range(5)]
    run_all(p, versions + [stream_state("invoices", 1)])
    (inv,) = emu.store.objects(deployment.object_type_ids["invoices"])
    assert inv["properties"]["lago_invoice_number"] == "V4"


def test_inputs_a_207_leaves_unaccounted_are_asked_again_one_by_one(emu):
    p, _ = pipeline(emu)
    partial = {
        "status": "COMPLETE",
        "results": [],
        "errors": [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": "Something went wrong for one input",
                "context": {},
                "errors": [],
                "links": {},
            }
        ],
        "startedAt": "x",
        "completedAt": "x",
    }
    emu.inject_fault(status=207, method="POST", path_regex=r"/batch/upsert$", times=1, body=partial)
    emu.clear_log()
    lines = [record("customers", customer(i)) for i in range(3)] + [stream_state("customers", 1)]
    assert len(run_all(p, lines)) == 1
    assert set(lago_ids(emu, "companies", "lago_customer_id")) == {"c0", "c1", "c2"}
    assert p.report.rejections == []
    sizes = [len(r["body"]["inputs"]) for r in emu.requests if r["path"].endswith("/batch/upsert")]
    assert sizes == [3, 1, 1, 1]  # the batch, then each unaccounted input on its own


def test_a_dry_run_on_a_fresh_portal_plans_every_write_and_makes_none(emu):
    p, deployment = pipeline(emu, dry_run=True)
    assert deployment.object_type_ids.get("invoices") is None  # not deployed: only planned
    emu.clear_log()
    lines = [
        record("customers", customer(1)),
        record("invoices", invoice(1, "c1")),
        record("invoices", invoice(2, "c1")),
        stream_state("invoices", 1),
    ]
    assert len(run_all(p, lines)) == 1
    assert emu.mutating_requests() == []
    assert p.report.created == {"companies": 1, "invoices": 2}
    assert p.report.associations == 2  # planned, one per invoice
    assert p.report.rejections == [] and p.report.missing_associations == []


def test_no_more_jobs_are_in_flight_than_twice_the_workers(emu, monkeypatch):
    # The input is read one message ahead of the loop at most (sync/inbox.py reads ahead).
    monkeypatch.setattr("destination_hubspot_lago.sync.inbox.MAX_AHEAD", 1)
    p, _ = pipeline(emu, tuning={"batch_size": 1, "workers": 2})  # at most 4 jobs in flight
    emu.latency_seconds = 0.5  # every answer takes this long from now on
    written_when_asked = []

    def lines():
        for i in range(7):
            # Asked for record i once the loop took record i-1, so records 0..i-2 are in
            # jobs: the fifth job (record 4) needed a free place, so an earlier job had to
            # come back first.
            written_when_asked.append(len(emu.store.objects("companies")))
            yield record("customers", customer(i))
        yield stream_state("customers", 1)

    assert len(run_all(p, lines())) == 1
    assert written_when_asked[6] >= 1


def test_a_stream_is_complete_when_a_state_covered_its_last_record(emu):
    p, _ = pipeline(emu)
    lines = [
        record("customers", customer(1)),
        stream_state("customers", 1),
        record("invoices", invoice(1, "c1")),
        stream_state("invoices", 2),
        record("invoices", invoice(2, "c1")),  # after the last invoices state: incomplete
        record("subscriptions", subscription(1, "c1")),  # no state at all
    ]
    run_all(p, lines)
    assert p.completed_streams == {(None, "customers")}
