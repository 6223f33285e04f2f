"""docs/product.md §8 reconciliation over real HTTP: the project's HubSpotClient and batch
writer against the emulator.

HubSpot's state is built directly in the emulator (as an earlier sync would have left it); a
``Terminations`` (``terminations/job.py``) then runs its jobs as the message loop runs them
after a sync (work on worker threads, folds on this one, ``tests/support/jobs.py``), given
what the sync saw. The last tests run the whole pipeline in-process.
"""

from __future__ import annotations

import logging

import pytest

from destination_hubspot_lago.config import DestinationConfig
from destination_hubspot_lago.connector import prepare
from destination_hubspot_lago.hubspot.batches import BatchWriter, DryRunWriter
from destination_hubspot_lago.terminations.job import Terminations
from destination_hubspot_lago.terminations.plan import Guard, StreamFacts, SyncSeen
from tests.support.harness import make_emulator, private_app_config, record, stream_state
from tests.support.jobs import run_jobs
from tests.support.pipeline import customer, pipeline, run_all, subscription

COMPLETE = StreamFacts(in_catalog=True, enabled=True, complete=True, records=1)


class Portal:
    """An emulated portal with the model deployed, and helpers to seed what a sync left."""

    def __init__(self, emu, **config):
        self.emu = emu
        parsed = DestinationConfig.parse(private_app_config(emu.url, **config))
        self.client, deployment = prepare(parsed)
        self.type_ids = deployment.object_type_ids
        self.writer = BatchWriter(self.client, self.type_ids)
        subs = deployment.object_type_ids["subscriptions"]
        assert subs
        self.subs: str = subs

    def add_property(self, name, type_="string", field="text"):
        self.emu.store.create_property(
            self.subs,
            {
                "name": name,
                "label": name,
                "type": type_,
                "fieldType": field,
                "groupName": "lagosubscriptions_information",
            },
        )

    def customer(self, lago_id, object_type="companies"):
        props = {"lago_customer_id": lago_id}
        props["name" if object_type == "companies" else "lastname"] = f"Customer {lago_id}"
        return self.emu.store.create_object(object_type, props)["id"]

    def subscription(self, lago_id, status="active", owner=None, own_customer=None, **props):
        values = {"lago_subscription_id": lago_id, "lago_subscription_status": status, **props}
        if own_customer is not None:
            values["lago_customer_id"] = own_customer
        record_id = self.emu.store.create_object(self.subs, values)["id"]
        if owner is not None:
            object_type, owner_id = owner
            self.emu.store.associate_default(object_type, owner_id, self.subs, record_id)
        return record_id

    def statuses(self):
        return {
            r["properties"]["lago_subscription_id"]: r["properties"].get("lago_subscription_status")
            for r in self.emu.store.objects(self.subs)
        }

    def terminations(
        self, seen, arrived, facts=COMPLETE, mode="reconcile", dry_run=False, zero_mrr=False
    ):
        """What a sync that saw the customers ``seen`` and the subscriptions ``arrived`` runs
        after its last STATE (a dry run through the dry run's writer)."""
        writer = DryRunWriter(self.writer) if dry_run else self.writer
        sync = SyncSeen(frozenset(seen), frozenset(arrived), facts)
        return Terminations(writer, sync, mode, zero_mrr)

    def reconcile(self, seen, arrived, facts=COMPLETE, mode="reconcile", **kwargs):
        run = self.terminations(seen, arrived, facts, mode, **kwargs)
        assert run_jobs(run.start()) == []
        assert run.outcome is not None
        return run.outcome


@pytest.fixture
def emu():
    with make_emulator() as emulator:
        yield emulator


@pytest.fixture
def portal(emu):
    return Portal(emu)


def batch_calls(emu, suffix):
    return [r for r in emu.requests if r["method"] == "POST" and r["path"].endswith(suffix)]


def test_a_subscription_that_left_the_active_list_is_terminated_and_nothing_else_changes(
    portal, emu
):
    acme = ("companies", portal.customer("c-acme"))
    zoe = ("contacts", portal.customer("c-zoe", "contacts"))
    kept = portal.subscription("s-kept", owner=acme)
    gone = portal.subscription("s-gone", owner=acme, lago_subscription_name="Startup")
    portal.subscription("s-zoe-gone", owner=zoe)
    portal.subscription("s-old", status="terminated", owner=acme)
    before = emu.store.snapshot()["records"][portal.subs]
    emu.clear_log()

    outcome = portal.reconcile({"c-acme", "c-zoe"}, {"s-kept"})

    assert outcome.guard is None and outcome.refused == []
    assert sorted(outcome.marked) == ["s-gone", "s-zoe-gone"]
    assert portal.statuses() == {
        "s-kept": "active",
        "s-gone": "terminated",
        "s-zoe-gone": "terminated",
        "s-old": "terminated",
    }
    after = emu.store.snapshot()["records"][portal.subs]
    assert after[kept] == before[kept]
    changed = {k: v for k, v in after[gone][0].items() if before[gone][0].get(k) != v}
    assert set(changed) <= {"lago_subscription_status", "hs_lastmodifieddate"}
    assert after[gone][0]["lago_subscription_name"] == "Startup"
    updates = batch_calls(emu, "/batch/update")
    assert len(updates) == 1
    assert all(
        set(i["properties"]) == {"lago_subscription_status"} for i in updates[0]["body"]["inputs"]
    )
    assert "2 marked" in outcome.summary_line()


def test_a_third_sync_changes_nothing(portal, emu):
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-kept", owner=acme)
    portal.subscription("s-gone", owner=acme)
    assert portal.reconcile({"c-acme"}, {"s-kept"}).marked == ["s-gone"]
    emu.clear_log()
    again = portal.reconcile({"c-acme"}, {"s-kept"})
    assert again.marked == [] and again.guard is None
    assert emu.mutating_requests() == []


def test_another_organisations_records_in_the_same_portal_are_untouched(portal, emu):
    ours = ("companies", portal.customer("c-ours"))
    theirs = ("companies", portal.customer("c-theirs"))
    # the model deploys lago_customer_id on LagoSubscriptions (§6): records carry their customer
    portal.subscription("s-ours", owner=ours, own_customer="c-ours")
    portal.subscription("s-theirs", owner=theirs, own_customer="c-theirs")
    # associated with our company, but its own property names the other organisation's customer
    portal.subscription("s-theirs-linked", owner=ours, own_customer="c-theirs")
    portal.subscription("s-orphan")  # no customer can be known

    outcome = portal.reconcile({"c-ours"}, {"s-other"})

    assert outcome.marked == ["s-ours"]
    assert outcome.plan is not None and outcome.plan.unseen_customer == 1
    assert portal.statuses() == {
        "s-ours": "terminated",
        "s-theirs": "active",
        "s-theirs-linked": "active",
        "s-orphan": "active",
    }


@pytest.mark.parametrize(
    "facts, mode, guard",
    [
        (COMPLETE, "off", Guard.OFF),
        (StreamFacts(False, True, True, 0), "reconcile", Guard.NOT_IN_CATALOG),
        (StreamFacts(True, False, True, 5), "reconcile", Guard.SWITCHED_OFF),
        (StreamFacts(True, True, False, 5), "always", Guard.INCOMPLETE),
        (StreamFacts(True, True, True, 0), "always", Guard.EMPTY),
    ],
)
def test_stream_guards_leave_every_record_as_it_was_without_a_call(portal, emu, facts, mode, guard):
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-gone", owner=acme)
    before = emu.store.snapshot()
    emu.clear_log()
    outcome = portal.reconcile({"c-acme"}, set(), facts=facts, mode=mode)
    assert outcome.guard is guard and outcome.marked == []
    assert emu.requests == []
    assert emu.store.snapshot() == before
    assert f"held back: {guard.value}" in outcome.summary_line()


def test_mass_change_is_held_back_with_a_warning_naming_the_numbers(portal, emu, caplog):
    acme = ("companies", portal.customer("c-acme"))
    for n in range(12):
        portal.subscription(f"s-{n}", owner=acme)
    before = emu.store.snapshot()
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        outcome = portal.reconcile({"c-acme"}, {"s-0"})
    assert outcome.guard is Guard.MASS_CHANGE
    assert emu.store.snapshot() == before
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "11 of the 12" in warning and "terminated_subscriptions: always" in warning
    assert "mass_change" in outcome.summary_line()

    lifted = portal.reconcile({"c-acme"}, {"s-0"}, mode="always")
    assert len(lifted.marked) == 11


def test_dry_run_lists_what_it_would_mark_and_writes_nothing(portal, emu, caplog):
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-kept", owner=acme)
    portal.subscription("s-gone", owner=acme)
    emu.clear_log()
    with caplog.at_level(logging.INFO, logger="airbyte"):
        outcome = portal.reconcile({"c-acme"}, {"s-kept"}, dry_run=True)
    assert outcome.would_mark == ["s-gone"] and outcome.marked == []
    assert emu.mutating_requests() == []
    assert portal.statuses()["s-gone"] == "active"
    assert "would mark 1 (s-gone)" in outcome.summary_line()
    assert any("s-gone" in r.getMessage() for r in caplog.records)


def test_records_written_before_lago_customer_id_existed_are_found_by_association(portal):
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-legacy", owner=acme)  # written before it carried lago_customer_id
    run = portal.terminations({"c-acme"}, {"s-legacy"})
    run_jobs(run.start())
    records = run.active_records()
    assert [(r.lago_subscription_id, r.own_customer_id, r.customer_id) for r in records] == [
        ("s-legacy", None, "c-acme")
    ]


def test_reads_and_writes_go_in_batches_of_at_most_100_and_follow_paging(portal, emu):
    acme = ("companies", portal.customer("c-acme"))
    for n in range(530):  # more than one association page (500) and five record batches
        portal.subscription(f"s-{n:03}", owner=acme)
    others = {f"c-{n}" for n in range(150)}  # seen customers without a HubSpot record
    arrived = {f"s-{n:03}" for n in range(230, 530)}  # the first 230 did not arrive
    emu.clear_log()
    # `always`: 230 of 530 is a mass change
    run = portal.terminations(others | {"c-acme"}, arrived, mode="always")
    assert run_jobs(run.start()) == []
    assert run.outcome is not None and run.outcome.plan is not None
    assert len(run.active_records()) == 530 and run.outcome.plan.active == 530
    reads = batch_calls(emu, "/batch/read")
    assert reads and all(len(r["body"]["inputs"]) <= 100 for r in reads)
    assert any(i.get("after") for r in reads for i in r["body"]["inputs"])
    assert len(run.outcome.marked) == 230 and run.outcome.refused == []
    updates = batch_calls(emu, "/batch/update")
    assert sorted(len(u["body"]["inputs"]) for u in updates) == [30, 100, 100]


def test_mrr_becomes_zero_where_the_property_is_deployed(portal):
    # the model deploys lago_subscription_mrr (§6)
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-gone", owner=acme, lago_subscription_mrr="49.5")
    portal.reconcile({"c-acme"}, {"s-other"}, zero_mrr=True)
    record = portal.emu.store.objects(portal.subs)[0]["properties"]
    assert record["lago_subscription_status"] == "terminated"
    assert float(record["lago_subscription_mrr"]) == 0


def test_a_refused_update_is_reported_not_raised(portal, emu):
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-kept", owner=acme)
    portal.subscription("s-gone", owner=acme)
    refusal = {
        "status": "error",
        "message": "Property values were not valid",
        "category": "VALIDATION_ERROR",
        "correlationId": "0000",
    }
    emu.inject_fault(400, "POST", r"/batch/update$", body=refusal)
    outcome = portal.reconcile({"c-acme"}, {"s-kept"})
    assert outcome.marked == []
    assert [lago_id for lago_id, _ in outcome.refused] == ["s-gone"]
    assert "Property values were not valid" in outcome.refused[0][1]
    assert "1 refused by HubSpot" in outcome.summary_line()
    assert portal.statuses()["s-gone"] == "active"


def test_a_record_gone_between_read_and_write_is_reported(portal, emu):
    acme = ("companies", portal.customer("c-acme"))
    portal.subscription("s-gone", owner=acme)
    run = portal.terminations({"c-acme"}, set())
    updates = run_jobs(run.start(), until=lambda: run.plan is not None)  # read, not written
    assert updates and run.plan is not None
    emu.store.archive_record(portal.subs, run.plan.to_mark[0].hubspot_id)
    assert run_jobs(updates) == []
    assert run.outcome is not None
    assert run.outcome.marked == [] and [i for i, _ in run.outcome.refused] == ["s-gone"]


def test_without_a_deployed_object_nothing_is_read(portal, emu):
    emu.clear_log()
    writer = BatchWriter(portal.client, {**portal.type_ids, "subscriptions": None})
    run = Terminations(
        writer, SyncSeen(frozenset({"c-acme"}), frozenset(), COMPLETE), "reconcile", False
    )
    assert run.start() == []
    assert run.outcome is not None
    assert run.outcome.guard is Guard.NOT_DEPLOYED and emu.requests == []


def test_each_batch_of_at_most_100_inputs_is_a_job_of_its_own(portal):
    """So that the loop runs them on its workers side by side, paced by the one pacer."""
    run = portal.terminations({f"c-{n:03}" for n in range(250)}, {"s-x"})
    jobs = run.start()
    assert len(jobs) == 6  # companies and contacts, each looked up in batches of 100, 100, 50
    assert run_jobs(jobs) == []
    assert run.outcome is not None and run.outcome.marked == []


SCOPES_REFUSED = {
    "status": "error",
    "message": "This app hasn't been granted all required scopes to make this call.",
    "correlationId": "c0ffee",
    "category": "MISSING_SCOPES",
}


def test_a_read_hubspot_refuses_holds_every_change_back(portal, emu, caplog):
    acme = ("companies", portal.customer("c-acme"))
    zoe = ("contacts", portal.customer("c-zoe", "contacts"))
    portal.subscription("s-gone", owner=acme)
    portal.subscription("s-zoe-gone", owner=zoe)
    # the contacts' associations cannot be read; the companies' can
    emu.inject_fault(403, "POST", r"/crm/associations/[^/]+/0-1/", body=SCOPES_REFUSED)
    before = emu.store.snapshot()
    emu.clear_log()
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        outcome = portal.reconcile({"c-acme", "c-zoe"}, set())
    assert outcome.guard is Guard.READ_FAILED and outcome.marked == []
    assert "held back: read_failed (reading HubSpot failed:" in outcome.summary_line()
    assert emu.mutating_requests() == [] and emu.store.snapshot() == before
    assert any("not reconciled" in r.getMessage() for r in caplog.records)


def test_an_association_read_answered_404_reads_as_no_association(portal, emu):
    acme = ("companies", portal.customer("c-acme"))
    zoe = ("contacts", portal.customer("c-zoe", "contacts"))
    portal.subscription("s-gone", owner=acme)
    portal.subscription("s-zoe-gone", owner=zoe)
    not_found = {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}
    emu.inject_fault(404, "POST", r"/crm/associations/[^/]+/0-1/", body=not_found)
    outcome = portal.reconcile({"c-acme", "c-zoe"}, set())
    assert outcome.guard is None and outcome.marked == ["s-gone"]
    assert portal.statuses() == {"s-gone": "terminated", "s-zoe-gone": "active"}


def test_a_dry_run_of_the_whole_pipeline_writes_nothing_and_names_what_it_would_mark(
    portal, emu, caplog
):
    # What an earlier sync left: customer c1's company, with two active subscriptions.
    company = ("companies", portal.customer("c1"))
    portal.subscription("s1", owner=company, own_customer="c1")  # arrives again
    portal.subscription("s-gone", owner=company, own_customer="c1")  # Lago no longer lists it
    before = emu.store.snapshot()
    emu.clear_log()
    p, _ = pipeline(emu, dry_run=True)  # its preflight and deployment plan included
    lines = [
        record("customers", customer(1)),
        stream_state("customers", 1),
        record("subscriptions", subscription(1, "c1")),
        stream_state("subscriptions", 2),
    ]
    with caplog.at_level(logging.INFO, logger="airbyte"):
        run_all(p, lines)
    assert emu.mutating_requests() == []
    assert emu.store.snapshot() == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "terminated subscriptions: would mark 1 (s-gone)" in logged.splitlines()
    assert "Dry run: would mark 1 LagoSubscriptions terminated: s-gone" in logged
