"""docs/product.md §8 planner: which active LagoSubscriptions records become terminated, and
guards."""

from __future__ import annotations

import pytest

from destination_hubspot_lago.terminations.plan import (
    ActiveRecord,
    Guard,
    StreamFacts,
    SyncObservations,
    TerminationOutcome,
    plan_terminations,
)

COMPLETE = StreamFacts(in_catalog=True, enabled=True, complete=True, records=3)


def rec(n, own=None, associated=()):
    return ActiveRecord(str(100 + n), f"s{n}", own, frozenset(associated))


def marked(plan):
    return [r.lago_subscription_id for r in plan.to_mark]


@pytest.mark.parametrize(
    "facts, mode, guard",
    [
        (COMPLETE, "off", Guard.OFF),
        (StreamFacts(False, True, True, 3), "reconcile", Guard.NOT_IN_CATALOG),
        (StreamFacts(True, False, True, 3), "reconcile", Guard.SWITCHED_OFF),
        (StreamFacts(True, True, False, 3), "reconcile", Guard.INCOMPLETE),
        (StreamFacts(True, True, True, 0), "reconcile", Guard.EMPTY),
        # an unreadable input line may have been a subscription
        (StreamFacts(True, True, True, 3, unreadable_lines=1), "reconcile", Guard.INCOMPLETE),
        # `always` lifts only the mass-change guard
        (StreamFacts(True, True, False, 3), "always", Guard.INCOMPLETE),
        (StreamFacts(True, True, True, 0), "always", Guard.EMPTY),
        (StreamFacts(False, True, True, 3), "always", Guard.NOT_IN_CATALOG),
    ],
)
def test_stream_guards_change_nothing(facts, mode, guard):
    plan = plan_terminations([rec(1, "A")], {"A"}, set(), facts, mode)
    assert plan.guard is guard
    assert plan.to_mark == ()
    assert plan.message


@pytest.mark.parametrize(
    "record, seen, arrived, expected, left_alone",
    [
        # the subscription did not arrive, its customer did: terminated
        (rec(1, "A"), {"A"}, {"s9"}, ["s1"], (0, 0)),
        # it arrived: nothing to do
        (rec(1, "A"), {"A"}, {"s1"}, [], (0, 0)),
        # its own customer is not in this sync (another Lago organisation): left alone
        (rec(1, "B"), {"A"}, set(), [], (0, 1)),
        # its own property wins over the association
        (rec(1, "B", ["A"]), {"A"}, set(), [], (0, 1)),
        # written before lago_customer_id existed: the associated customer decides
        (rec(1, None, ["A"]), {"A"}, set(), ["s1"], (0, 0)),
        # no property, no seen association: customer unknown, left alone
        (rec(1), {"A"}, set(), [], (1, 0)),
        # associated with two customers and no property of its own: unknown
        (rec(1, None, ["A", "C"]), {"A", "C"}, set(), [], (1, 0)),
    ],
)
def test_records_are_chosen_by_customer_and_arrival(record, seen, arrived, expected, left_alone):
    plan = plan_terminations([record], seen, arrived, COMPLETE, "reconcile")
    assert plan.guard is None
    assert marked(plan) == expected
    assert (plan.unknown_customer, plan.unseen_customer) == left_alone


def _fleet(active, missing):
    """``active`` records of seen customer A, the first ``missing`` of them did not arrive."""
    records = [rec(i, "A") for i in range(active)]
    arrived = {f"s{i}" for i in range(missing, active)}
    return records, arrived


@pytest.mark.parametrize(
    "active, missing, mode, held",
    [
        (50, 11, "reconcile", True),  # 11 > 10 and 22 % > 20 %
        (55, 11, "reconcile", False),  # exactly 20 % is not more than 20 %
        (10, 10, "reconcile", False),  # 100 % but not more than 10 records
        (11, 11, "reconcile", True),
        (11, 11, "always", False),  # `always` lifts the mass-change guard
        (200, 40, "reconcile", False),
        (200, 41, "reconcile", True),
    ],
)
def test_mass_change_guard(active, missing, mode, held):
    records, arrived = _fleet(active, missing)
    plan = plan_terminations(records, {"A"}, arrived, COMPLETE, mode)
    assert plan.active == active
    if held:
        assert plan.guard is Guard.MASS_CHANGE and plan.to_mark == ()
        assert str(missing) in plan.message and str(active) in plan.message
        assert "terminated_subscriptions: always" in plan.message
    else:
        assert plan.guard is None and len(plan.to_mark) == missing


def test_mass_change_counts_only_the_seen_customers_active_records():
    # 11 of A's 12 did not arrive (held back); B's and unknown records are not in the base.
    records = [rec(i, "A") for i in range(12)] + [rec(100 + i, "B") for i in range(100)]
    records += [rec(300 + i) for i in range(100)]
    plan = plan_terminations(records, {"A"}, {"s11"}, COMPLETE, "reconcile")
    assert plan.guard is Guard.MASS_CHANGE
    assert (plan.active, plan.unseen_customer, plan.unknown_customer) == (12, 100, 100)
    assert "11 of the 12" in plan.message


def test_a_record_read_twice_counts_once():
    plan = plan_terminations([rec(1, "A"), rec(1, "A")], {"A"}, set(), COMPLETE, "reconcile")
    assert marked(plan) == ["s1"] and plan.active == 1


def test_observations_collect_seen_customers_and_arrived_subscriptions():
    observed = SyncObservations()
    observed.record("customers", {"lago_id": "c1"})
    observed.record("subscriptions", {"lago_id": "s1"})
    observed.record("invoices", {"lago_id": "i1"})
    observed.record("subscriptions", "not a mapping")
    assert observed.customers == {"c1"} and observed.subscriptions == {"s1"}
    assert observed.subscription_records == 2


def test_a_customers_last_write_decides_whether_it_is_read_or_new():
    observed = SyncObservations()
    for lago_id in ("c-old", "c-new", "c-planned", "c-both"):
        observed.record("customers", {"lago_id": lago_id})
    observed.record(
        "subscriptions", {"lago_id": "s1", "lago_customer_id": "c-new", "status": "active"}
    )
    observed.record(
        "subscriptions", {"lago_id": "s2", "lago_customer_id": "c-new", "status": "pending"}
    )
    observed.record(
        "subscriptions", {"lago_id": "s3", "lago_customer_id": "c-old", "status": "active"}
    )
    observed.record(
        "subscriptions", {"lago_id": "s4", "lago_customer_id": "c-planned", "status": "Active"}
    )
    observed.customer_written("c-old", "contacts", "501", created=False)
    observed.customer_written("c-new", "companies", "502", created=True)
    observed.customer_written("c-planned", "companies", None, created=False)  # a dry run's
    observed.customer_written("c-both", "companies", "503", created=True)
    observed.customer_written("c-both", "companies", "503", created=False)  # its last version
    seen = observed.seen(COMPLETE)
    assert seen.known == {"c-old": ("contacts", "501"), "c-both": ("companies", "503")}
    assert seen.new == {"c-new", "c-planned"}
    assert seen.to_read == {"c-old", "c-both"}
    assert seen.new_active == 2  # s1 and s4: the new customers' active subscriptions
    assert seen.subscriptions == {"s1", "s2", "s3", "s4"} and seen.facts is COMPLETE


def test_a_dry_run_summary_names_the_first_ids_and_counts_the_rest():
    outcome = TerminationOutcome(dry_run=True, would_mark=[f"s{n}" for n in range(25)])
    line = outcome.summary_line()
    assert line.startswith("terminated subscriptions: would mark 25 (s0, s1,")
    assert "s19 and 5 more" in line and "s20" not in line
    held = TerminationOutcome(guard=Guard.MASS_CHANGE, message="11 of the 12 …").summary_line()
    assert held == "terminated subscriptions: 0 marked; held back: mass_change (11 of the 12 …)"


def test_active_subscriptions_of_customers_not_read_count_in_the_mass_change_share():
    # 11 of A's 12 did not arrive: held back alone, but not when new customers of the sync
    # (not read: nothing of theirs can be marked) bring 50 more active subscriptions.
    records = [rec(i, "A") for i in range(12)]
    alone = plan_terminations(records, {"A", "N"}, {"s11"}, COMPLETE, "reconcile")
    assert alone.guard is Guard.MASS_CHANGE
    plan = plan_terminations(records, {"A", "N"}, {"s11"}, COMPLETE, "reconcile", 50)
    assert plan.guard is None and len(plan.to_mark) == 11 and plan.active == 62
