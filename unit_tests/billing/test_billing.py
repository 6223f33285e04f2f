"""Billing values (docs/product.md §6): plan properties, MRR, per-customer roll-ups, fee links."""

from __future__ import annotations

import sys
from datetime import date

import pytest

from destination_hubspot_lago.billing.aggregator import (
    BILLING_STREAMS,
    BillingAggregator,
    MemoryFacts,
    fee_link,
)
from destination_hubspot_lago.billing.deferred import DeferredPlanValues
from destination_hubspot_lago.billing.facts import DiskFacts
from destination_hubspot_lago.billing.job import BillingValues
from destination_hubspot_lago.billing.plans import (
    PlanTerms,
    monthly_cents,
    plan_for,
    subscription_plan_values,
)
from destination_hubspot_lago.records.base import MappingSettings
from destination_hubspot_lago.records.invoices import map_invoice
from destination_hubspot_lago.records.subscriptions import map_subscription

S = MappingSettings(today=date(2025, 6, 15))
ALL = BILLING_STREAMS


def plan(code="pro", interval="monthly", cents=10000, currency="EUR", name="Pro"):
    return {
        "lago_id": f"plan-{code}",
        "code": code,
        "name": name,
        "interval": interval,
        "amount_cents": cents,
        "amount_currency": currency,
    }


def sub(lago_id="s1", customer="c1", status="active", plan_code="pro", started=None, **extra):
    return {
        "lago_id": lago_id,
        "lago_customer_id": customer,
        "status": status,
        "plan_code": plan_code,
        "started_at": started or "2024-01-01T00:00:00Z",
        **extra,
    }


def invoice(lago_id, customer="c1", currency="EUR", total=1000, due=None, **extra):
    record = {
        "lago_id": lago_id,
        "status": "finalized",
        "payment_status": "pending",
        "currency": currency,
        "issuing_date": "2025-05-01",
        "payment_due_date": "2025-07-01",  # not yet due on 2025-06-15
        "total_amount_cents": total,
        "total_due_amount_cents": total if due is None else due,
        "customer": {"lago_id": customer},
    }
    record.update(extra)
    return record


def wallet(lago_id, customer="c1", status="active", credits="100.0"):
    return {
        "lago_id": lago_id,
        "lago_customer_id": customer,
        "status": status,
        "credits_balance": credits,
    }


def customer(lago_id="c1", currency="EUR"):
    return {"lago_id": lago_id, "currency": currency}


class ReadBackFacts(DiskFacts):
    """Facts on disk whose folds are always read back, as when some record came twice (the
    aggregator's folds made as facts came are then dropped)."""

    def distinct(self) -> bool:
        return False


FACTS = MemoryFacts  # where the aggregator keeps its facts; every roll-up test runs with each
STORES = {"memory": MemoryFacts, "on disk": DiskFacts, "read back": ReadBackFacts}


@pytest.fixture(autouse=True, params=list(STORES))
def facts_store(request, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "FACTS", STORES[request.param])


def rollup(records, complete=ALL, settings=S):
    aggregator = BillingAggregator(settings, FACTS())
    for stream, record in records:
        aggregator.add(stream, record)
    result = aggregator.finalize(complete)
    return {c.lago_id: c for c in result.customers}, result.summary


# -- one subscription: plan values and MRR ------------------------------------------------


@pytest.mark.parametrize(
    "interval, cents, currency, amount, mrr",
    [
        ("weekly", 1000, "EUR", "10.00", "43.33"),  # 10 × 52 / 12 = 43.333…
        ("weekly", 1500, "EUR", "15.00", "65.00"),  # 15 × 52 / 12 = 65
        ("monthly", 4900, "EUR", "49.00", "49.00"),
        ("quarterly", 10000, "EUR", "100.00", "33.33"),  # 33.333…
        ("quarterly", 20000, "EUR", "200.00", "66.67"),  # 66.666… rounds up
        ("semiannual", 3, "EUR", "0.03", "0.01"),  # 0.005 exactly: half-up
        ("yearly", 990000, "EUR", "9900.00", "825.00"),
        ("yearly", 6, "EUR", "0.06", "0.01"),  # 0.005 exactly: half-up
        ("yearly", 100000, "JPY", "100000", "8333"),  # 8333.33…: no minor units
        ("monthly", 1500, "JPY", "1500", "1500"),
        ("yearly", 1000, "KWD", "1.000", "0.083"),  # 83.33… fils
        ("quarterly", 125500, "KWD", "125.500", "41.833"),
    ],
)
def test_mrr_is_normalised_per_interval_and_rounded_half_up(interval, cents, currency, amount, mrr):
    terms = PlanTerms.from_record(plan(interval=interval, cents=cents, currency=currency))
    values = subscription_plan_values(sub(), terms)
    assert values.properties == {
        "lago_plan_name": "Pro",
        "lago_plan_interval": interval,
        "lago_plan_amount": amount,
        "lago_subscription_currency": currency,
        "lago_subscription_mrr": mrr,
    }


def test_monthly_cents_uses_exact_decimals_not_floats():
    # 0.1 + 0.2-style float error would turn some exact ties into 0.4999…
    assert [monthly_cents(c, "yearly") for c in (6, 18, 30, 42)] == [1, 2, 3, 4]  # x.5 -> up
    assert monthly_cents(-6, "yearly") == -1  # half away from zero (credit plans)


def test_terminated_subscription_has_mrr_zero_but_its_plan_values():
    values = subscription_plan_values(
        sub(status="terminated"), PlanTerms.from_record(plan(cents=4900))
    )
    assert values.properties["lago_subscription_mrr"] == "0.00"
    assert values.properties["lago_plan_amount"] == "49.00"


@pytest.mark.parametrize(
    "terms, problem",
    [
        (None, "plan pro unknown"),
        (plan(interval="daily"), "interval 'daily'"),
        (plan(cents=None), "no amount_cents"),
        (plan(cents="12.5"), "amount_cents"),
        (plan(currency="XXX"), "XXX"),
        (plan(currency=None), "currency is missing"),
    ],
)
def test_unusable_plan_gives_no_plan_properties(terms, problem):
    values = subscription_plan_values(sub(), terms and PlanTerms.from_record(terms))
    assert values.properties == {} and not values.known
    assert problem in (values.problem or "")


def test_nested_plan_wins_over_the_plans_stream():
    plans = {"pro": PlanTerms.from_record(plan(cents=10000))}
    nested = sub(plan={**plan(cents=8000), "amount_currency": "usd"})  # the subscription's override
    found = plan_for(nested, plans)
    assert found is not None and found.amount_cents == 8000 and found.currency == "USD"
    assert plan_for(sub(), plans) == plans["pro"]
    assert plan_for(sub(plan_code="other"), plans) is None
    assert plan_for(sub(), None) is None


def test_a_subscription_gets_its_plan_values_from_the_billing_part_and_its_customer_id():
    billing = BillingValues(None, BillingAggregator(S, FACTS()), 100)  # type: ignore[arg-type]
    before = billing.plan_values(sub())  # plan unknown yet: none of them
    assert not any(k.startswith("lago_plan_") or k.endswith("_mrr") for k in before)
    billing.record("plans", plan(interval="quarterly", cents=30000))
    properties = {**map_subscription(sub(), S).properties, **billing.plan_values(sub())}
    assert properties["lago_customer_id"] == "c1"
    assert properties["lago_plan_interval"] == "quarterly"
    assert properties["lago_subscription_mrr"] == "100.00"
    without = map_subscription(sub(), S).properties  # the mapping alone: none of them
    assert not any(k.startswith("lago_plan_") or k.endswith("_mrr") for k in without)


def test_subscriptions_written_before_their_plan_get_its_values_later():
    deferred = DeferredPlanValues()
    assert deferred.add(sub("s1", plan_code="late"))
    assert deferred.add(sub("s2", status="terminated", plan_code="late"))
    assert deferred.add(sub("s3", plan_code="never"))
    assert not deferred.add(sub("s4", plan=plan()))  # nested: its values were written already
    plans = {"late": PlanTerms.from_record(plan("late", "semiannual", 60000))}
    found, unknown = deferred.resolve(plans)
    assert dict(found) == {
        "s1": {
            "lago_plan_name": "Pro",
            "lago_plan_interval": "semiannual",
            "lago_plan_amount": "600.00",
            "lago_subscription_currency": "EUR",
            "lago_subscription_mrr": "100.00",
        },
        "s2": {
            "lago_plan_name": "Pro",
            "lago_plan_interval": "semiannual",
            "lago_plan_amount": "600.00",
            "lago_subscription_currency": "EUR",
            "lago_subscription_mrr": "0.00",
        },
    }
    assert unknown == 1 and len(deferred) == 0


def test_map_invoice_adds_the_customer_id_from_the_nested_customer():
    assert map_invoice(invoice("i1", customer="c9"), S).properties["lago_customer_id"] == "c9"


# -- one customer: roll-ups ---------------------------------------------------------------


def test_customer_without_records_gets_zeros_not_blanks():
    customers, _ = rollup([("customers", customer())])
    assert customers["c1"].properties == {
        "lago_billing_currency": "EUR",
        "lago_mrr": "0.00",
        "lago_active_subscriptions": "0",
        "lago_outstanding_amount": "0.00",
        "lago_overdue_amount": "0.00",
        "lago_overdue_invoices": "0",
        "lago_wallet_credits_balance": "0",
    }  # lago_last_invoice_date stays empty
    assert customers["c1"].withheld == {}


def test_mrr_sums_rounded_subscription_values_in_the_billing_currency():
    records = [
        ("plans", plan("w", "weekly", 1000)),  # 43.33
        ("plans", plan("q", "quarterly", 10000)),  # 33.33
        ("plans", plan("usd", "monthly", 5000, "USD")),  # other currency: left out, counted
        ("subscriptions", sub("s1", plan_code="w")),
        ("subscriptions", sub("s2", plan_code="q")),
        ("subscriptions", sub("s3", plan_code="q")),
        ("subscriptions", sub("s4", plan_code="usd")),
        ("subscriptions", sub("s5", status="terminated", plan_code="w")),
        ("customers", customer()),  # arrives last: order does not matter
    ]
    customers, summary = rollup(records)
    values = customers["c1"].properties
    assert values["lago_mrr"] == "109.99"  # 43.33 + 33.33 + 33.33, not round(109.9999…)
    assert values["lago_active_subscriptions"] == "4"
    assert summary.subscriptions_other_currency == 1 and summary.mrr_unknown == 0


def test_subscription_before_its_plan_is_resolved_at_the_end():
    records = [
        ("subscriptions", sub("s1", plan_code="late")),
        ("customers", customer(currency="JPY")),
        ("plans", plan("late", "yearly", 120000, "JPY")),
    ]
    customers, _ = rollup(records)
    assert customers["c1"].properties["lago_mrr"] == "10000"


def test_unknown_plan_counts_as_mrr_unknown():
    records = [
        ("customers", customer()),
        ("plans", plan("pro", "monthly", 4900)),
        ("subscriptions", sub("s1")),
        ("subscriptions", sub("s2", plan_code="gone")),
    ]
    customers, summary = rollup(records)
    assert customers["c1"].properties["lago_mrr"] == "49.00"
    assert customers["c1"].properties["lago_active_subscriptions"] == "2"
    assert summary.mrr_unknown == 1


def test_billing_currency_falls_back_to_the_first_active_subscriptions_plan():
    records = [
        ("customers", customer(currency=None)),
        ("plans", plan("kwd", "monthly", 1500, "KWD")),
        ("plans", plan("eur", "monthly", 4900, "EUR")),
        ("subscriptions", sub("s2", plan_code="eur", started="2024-05-01T00:00:00Z")),
        ("subscriptions", sub("s1", plan_code="kwd", started="2024-02-01T00:00:00Z")),
        ("subscriptions", sub("s3", status="terminated", plan_code="eur", started="2023-01-01")),
    ]
    customers, summary = rollup(records)
    c1 = customers["c1"]
    assert c1.billing_currency == "KWD" and c1.properties["lago_billing_currency"] == "KWD"
    assert c1.properties["lago_mrr"] == "1.500"
    assert c1.properties["lago_outstanding_amount"] == "0.000"
    assert summary.subscriptions_other_currency == 1


def test_nested_plan_currency_also_decides_the_billing_currency():
    nested = sub("s1", plan=plan("x", "monthly", 700, "JPY"))
    customers, _ = rollup([("customers", customer(currency="")), ("subscriptions", nested)])
    assert customers["c1"].properties["lago_billing_currency"] == "JPY"
    assert customers["c1"].properties["lago_mrr"] == "700"


def test_outstanding_and_overdue_over_unpaid_finalized_invoices():
    records = [
        ("customers", customer()),
        ("invoices", invoice("i1", total=1000)),  # unpaid, not yet due
        ("invoices", invoice("i2", total=2000, due=500, payment_due_date="2025-06-01")),  # overdue
        ("invoices", invoice("i3", total=4000, payment_overdue=True)),  # Lago's flag wins
        ("invoices", invoice("i4", total=8000, payment_status="succeeded")),  # paid
        ("invoices", invoice("i5", total=16000, status="voided")),
        ("invoices", invoice("i6", total=32000, status="draft", issuing_date="2025-06-10")),
        ("invoices", invoice("i7", total=64000, currency="USD", issuing_date="2025-06-02")),
        ("invoices", invoice("i8", total=300, due=None, total_due_amount_cents=None)),
    ]
    customers, summary = rollup(records)
    values = customers["c1"].properties
    assert values["lago_outstanding_amount"] == "58.00"  # 10 + 5 + 40 + 3
    assert values["lago_overdue_amount"] == "45.00"  # 5 + 40
    assert values["lago_overdue_invoices"] == "2"
    assert values["lago_last_invoice_date"] == "2025-06-02"  # finalized only, any currency
    assert summary.invoices_other_currency == 1


def test_invoice_without_any_amount_withholds_the_amounts_with_the_reason():
    bad = invoice("i9", total=None, due=None, total_due_amount_cents=None)
    customers, _ = rollup([("customers", customer()), ("invoices", bad)])
    assert "lago_outstanding_amount" not in customers["c1"].properties
    assert "i9" in customers["c1"].withheld["lago_outstanding_amount"]


@pytest.mark.parametrize(
    "currency, cents, expected",
    [("EUR", 1999, "19.99"), ("JPY", 1999, "1999"), ("KWD", 1999, "1.999")],
)
def test_invoice_amounts_use_the_currencys_minor_units(currency, cents, expected):
    records = [
        ("customers", customer(currency=currency)),
        ("invoices", invoice("i1", currency=currency, total=cents)),
    ]
    customers, _ = rollup(records)
    assert customers["c1"].properties["lago_outstanding_amount"] == expected


def test_wallet_credits_sum_active_wallets_as_decimals():
    records = [
        ("customers", customer()),
        ("wallets", wallet("w1", credits="100.10")),
        ("wallets", wallet("w2", credits="0.20")),
        ("wallets", wallet("w3", status="terminated", credits="999")),
        ("wallets", wallet("w4", customer="c2", credits="5")),
    ]
    customers, _ = rollup(records)
    assert customers["c1"].properties["lago_wallet_credits_balance"] == "100.3"  # not 100.30000001


def test_wallet_with_an_unreadable_balance_withholds_the_credits():
    records = [
        ("customers", customer()),
        ("wallets", wallet("w1", credits="lots")),
        ("customers", customer("c2")),
        ("wallets", wallet("w2", customer="c2", credits="NaN")),
    ]
    customers, summary = rollup(records)
    assert "w1" in customers["c1"].withheld["lago_wallet_credits_balance"]
    assert "w2" in customers["c2"].withheld["lago_wallet_credits_balance"]
    assert summary.withheld == {"a wallet has an unreadable credits_balance": 2}  # grouped
    assert any("2 customers" in line and "w1" in line for line in summary.lines())


def test_a_record_repeated_by_the_source_counts_once():
    records = [
        ("customers", customer()),
        ("invoices", invoice("6f1c3a52-3f0e-4d8a-9d55-1a2b3c4d5e6f", total=1000)),
        ("invoices", invoice("6F1C3A52-3F0E-4D8A-9D55-1A2B3C4D5E6F", total=1000)),
        ("wallets", wallet("w1")),
        ("wallets", wallet("w1")),
    ]
    customers, summary = rollup(records)
    assert customers["c1"].properties["lago_outstanding_amount"] == "10.00"
    assert customers["c1"].properties["lago_wallet_credits_balance"] == "100"
    assert summary.duplicates == 2
    assert (
        "2 subscriptions, invoices or wallets sent more than once by the source: each counted "
        "once, in its last version" in summary.lines()
    )


def test_records_naming_no_customer_are_left_out_and_said_so():
    records = [
        ("customers", customer()),
        ("invoices", invoice("i1", customer=None, total=1000)),
        ("wallets", wallet("w1", customer=None)),
        ("invoices", invoice("i2", total=500)),
    ]
    customers, summary = rollup(records)
    assert customers["c1"].properties["lago_outstanding_amount"] == "5.00"
    assert summary.records_without_customer == 2
    assert (
        "2 subscriptions, invoices or wallets naming no customer: left out of the roll-ups"
        in summary.lines()
    )


def test_a_record_sent_again_counts_in_its_last_version():
    """An incremental source sends a record again once it changed: the last version is the
    one that counts (paid, terminated), whatever the first one said."""
    paid_later = invoice("i1", total=1000)
    records = [
        ("customers", customer()),
        ("invoices", paid_later),
        ("invoices", invoice("i2", total=500, payment_status="succeeded")),
        ("subscriptions", sub("s1", plan=plan(cents=4900))),
        ("subscriptions", sub("s2", plan=plan(cents=1000))),
        ("wallets", wallet("w1", credits="100.0")),
        ("invoices", {**paid_later, "payment_status": "succeeded"}),
        ("invoices", invoice("i2", total=500)),  # unpaid again (a failed payment)
        ("subscriptions", sub("s1", status="terminated", plan=plan(cents=4900))),
        ("wallets", wallet("w1", credits="40.5")),
    ]
    customers, summary = rollup(records)
    c1 = customers["c1"].properties
    assert c1["lago_outstanding_amount"] == "5.00"
    assert (c1["lago_mrr"], c1["lago_active_subscriptions"]) == ("10.00", "1")
    assert c1["lago_wallet_credits_balance"] == "40.5"
    assert summary.duplicates == 4


# -- completeness: values only from streams received completely ---------------------------


@pytest.mark.parametrize(
    "incomplete, withheld",
    [
        ("wallets", {"lago_wallet_credits_balance"}),
        (
            "invoices",
            {
                "lago_outstanding_amount",
                "lago_overdue_amount",
                "lago_overdue_invoices",
                "lago_last_invoice_date",
            },
        ),
        ("subscriptions", {"lago_mrr", "lago_active_subscriptions"}),
        ("plans", {"lago_mrr"}),  # an active subscription waits for its plan
        (
            "customers",
            {
                "lago_billing_currency",
                "lago_mrr",
                "lago_active_subscriptions",
                "lago_outstanding_amount",
                "lago_overdue_amount",
                "lago_overdue_invoices",
                "lago_last_invoice_date",
                "lago_wallet_credits_balance",
            },
        ),
    ],
)
def test_values_of_an_incomplete_stream_are_withheld_with_the_reason(incomplete, withheld):
    records = [
        ("customers", customer()),
        ("plans", plan()),
        ("subscriptions", sub()),
        ("invoices", invoice("i1")),
        ("wallets", wallet("w1")),
    ]
    customers, summary = rollup(records, complete=[s for s in ALL if s != incomplete])
    c1 = customers["c1"]
    assert set(c1.withheld) == withheld
    assert not withheld & set(c1.properties)
    assert all(
        f"{incomplete} stream was not received completely" in r for r in c1.withheld.values()
    )
    assert summary.withheld == {next(iter(c1.withheld.values())): 1}


def test_plans_are_not_needed_when_every_subscription_nests_its_plan():
    records = [("customers", customer()), ("subscriptions", sub(plan=plan(cents=2500)))]
    customers, _ = rollup(records, complete=["customers", "subscriptions"])
    assert customers["c1"].properties["lago_mrr"] == "25.00"


def test_billing_currency_from_subscriptions_waits_for_them():
    records = [
        ("customers", customer(currency=None)),
        ("plans", plan(currency="JPY")),
        ("subscriptions", sub()),
        ("invoices", invoice("i1", currency="JPY")),
    ]
    customers, _ = rollup(records, complete=["customers", "plans", "invoices", "wallets"])
    c1 = customers["c1"]
    assert "lago_billing_currency" in c1.withheld
    assert {"lago_outstanding_amount", "lago_mrr"} <= set(c1.withheld)
    assert c1.properties["lago_last_invoice_date"] == "2025-05-01"


def test_only_customers_of_this_sync_get_rollups():
    customers, _ = rollup([("customers", customer("c1")), ("invoices", invoice("i1", "c2"))])
    assert set(customers) == {"c1"}


def test_finalize_is_called_once():
    aggregator = BillingAggregator(S)
    aggregator.finalize(ALL)
    with pytest.raises(RuntimeError):
        aggregator.finalize(ALL)


# -- invoice <-> subscription links ------------------------------------------------------------


def test_a_fee_links_its_invoice_and_subscription_when_it_names_both():
    assert fee_link({"lago_invoice_id": "i1", "lago_subscription_id": "s1"}) == ("i1", "s1")
    assert fee_link({"lago_invoice_id": "i2", "lago_subscription_id": None}) is None  # add-on
    assert fee_link({"lago_invoice_id": None, "lago_subscription_id": "s1"}) is None  # not billed
    assert fee_link({"lago_invoice_id": " ", "lago_subscription_id": "s1"}) is None


@pytest.mark.parametrize("count", [1, 2])
def test_summary_lines_count_in_words_that_agree(count):
    from destination_hubspot_lago.billing.aggregator import BillingSummary

    lines = BillingSummary(
        mrr_unknown=count,
        subscriptions_other_currency=count,
        invoices_other_currency=count,
        duplicates=count,
        records_without_customer=count,
        withheld={"the invoices stream was not selected": count},
    ).lines()
    one = count == 1
    assert lines[0].startswith(f"{count} active subscription{'' if one else 's'} with MRR")
    assert lines[1].startswith(f"{count} active subscription{'' if one else 's'} in another")
    assert lines[2].startswith(f"{count} invoice{'' if one else 's'} in another currency")
    records = "subscription, invoice or wallet" if one else "subscriptions, invoices or wallets"
    assert lines[3].startswith(f"{count} {records} sent more than once")
    assert lines[5].startswith(f"{count} customer{'' if one else 's'}: billing values")


# -- the post-sync phase: as many link chains as the loop runs jobs -----------------------------


def _billing_with_links(concurrency: int, pairs: int, batch_size: int) -> list[object]:
    """The post-sync jobs of a sync that wrote ``pairs`` invoices and subscriptions, each pair
    named by a fee: its link batches (the roll-ups need customers: there are none)."""
    from destination_hubspot_lago.sync.parts import SyncEnd, SyncStart

    kinds = frozenset({"invoices", "subscriptions", "fees"})
    billing = BillingValues(None, BillingAggregator(S, FACTS()), batch_size)  # type: ignore[arg-type]
    billing.start(SyncStart(kinds, from_catalog=True, concurrency=concurrency))
    for n in range(pairs):
        billing.record(
            "fees",
            {"lago_id": f"f{n}", "lago_invoice_id": f"i{n}", "lago_subscription_id": f"s{n}"},
        )
        billing.synced("invoices", f"i{n}", str(1000 + n))
        billing.synced("subscriptions", f"s{n}", str(5000 + n))
    streams = {(None, kind): kind for kind in kinds}
    try:
        return list(billing.finish(SyncEnd.of(streams, streams, streams)))
    finally:
        billing.close()


def test_the_link_batches_run_in_as_many_chains_as_the_loop_runs_jobs():
    """§9: the post-sync links go at their lane's rate, not at a fixed number of chains: one
    chain per job the loop runs at once (each chain's fold answers its next batch)."""
    assert len(_billing_with_links(concurrency=16, pairs=400, batch_size=10)) == 16
    assert len(_billing_with_links(concurrency=5, pairs=400, batch_size=10)) == 5
    assert len(_billing_with_links(concurrency=16, pairs=30, batch_size=10)) == 3  # all there is
