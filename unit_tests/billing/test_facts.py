"""The billing aggregator's facts on disk (billing/facts.py): last version wins, in the order
records first came, and memory that does not grow with the records — whichever way the
earlier versions are found: the bitmap's suspects, a bitmap so small that every key is one
(most of them never repeated), or SQLite for a source that repeats too many."""

from __future__ import annotations

import tracemalloc
import uuid
from datetime import date

import pytest

from destination_hubspot_lago.billing import facts as facts_module
from destination_hubspot_lago.billing.aggregator import BILLING_STREAMS, BillingAggregator
from destination_hubspot_lago.billing.facts import FLUSH_ROWS, DiskFacts
from destination_hubspot_lago.records.base import MappingSettings
from unit_tests.billing.test_billing import invoice


@pytest.fixture(params=["bitmap", "every key a suspect", "replaced by SQLite"])
def way(request, monkeypatch):
    if request.param == "every key a suspect":
        monkeypatch.setattr(facts_module, "SEEN_BITS", 8)
        monkeypatch.setattr(facts_module, "SUSPECTS_MOST", 10**9)
    elif request.param == "replaced by SQLite":
        monkeypatch.setattr(facts_module, "SUSPECTS_MOST", 0)
    return request.param


def test_a_later_version_replaces_the_fact_and_keeps_its_place(way):
    facts = DiskFacts()
    facts.put("invoices", "a", ("c1", 1, "first"))
    facts.put("invoices", "b", ("c1", 1))
    facts.put("wallets", "a", ("c2", 0))  # same key, other stream: another record
    facts.put("invoices", "a", ("c1", 1, "second"))
    assert list(facts.items()) == [
        ("invoices", ("c1", 1, "second")),
        ("invoices", ("c1", 1)),  # as it was put
        ("wallets", ("c2", 0)),
    ]
    assert facts.repeated == 1
    facts.close()
    facts.close()  # idempotent
    assert list(facts.items()) == []
    with pytest.raises(RuntimeError):
        facts.put("invoices", "c", ("c1", 0))


def test_facts_beyond_one_batch_come_back_complete_and_in_order(way):
    facts = DiskFacts()
    count = FLUSH_ROWS * 2 + 7
    for n in range(count):
        facts.put("subscriptions", f"k{n}", (f"c{n % 10}", n))
    for n in range(0, count, 3):  # versions sent again, across batches
        facts.put("subscriptions", f"k{n}", (f"c{n % 10}", -n))
    got = [fact for _, fact in facts.items()]
    assert [abs(f[1]) for f in got] == list(range(count))
    assert all(f[1] == -n for n, f in enumerate(got) if n % 3 == 0 and n)
    assert facts.repeated == len(range(0, count, 3))
    assert [fact for _, fact in facts.items()] == got  # read again: the same


def test_keys_that_only_look_repeated_come_back_once_each(way):
    """Without a repeat, every fact once, as put, whatever the bitmap suspects."""
    facts = DiskFacts()
    count = FLUSH_ROWS + 11
    for n in range(count):
        facts.put("invoices", uuid.UUID(int=n).bytes, (f"c{n}", n))
        facts.put("wallets", f"w{n}", (f"c{n}", -n))
    got = list(facts.items())
    expected = [("invoices", (f"c{n}", n)) for n in range(count)]
    expected += [("wallets", (f"c{n}", -n)) for n in range(count)]
    assert sorted(got) == sorted(expected) and len(got) == 2 * count
    invoices = [fact for stream, fact in got if stream == "invoices"]
    assert invoices == [fact for _, fact in expected[:count]]  # in order
    assert facts.repeated == 0


@pytest.mark.parametrize("repeat", [False, True])
def test_distinct_says_whether_some_key_was_put_twice(way, repeat, monkeypatch):
    """``distinct``: no key put twice (then the facts need not be read back), told apart from
    a repeat whichever way suspects are found — also when every key is one. A store that left
    its suspects to SQLite cannot tell: it says False, and the facts are read back."""
    _overflow_at_once(way, monkeypatch)
    facts = DiskFacts()
    count = FLUSH_ROWS + 5
    for n in range(count):
        facts.put("invoices", uuid.UUID(int=n).bytes, (f"c{n}", n))
    facts.put("wallets", uuid.UUID(int=1).bytes, ("c1", 0))  # same key, other stream
    if repeat:
        facts.put("invoices", uuid.UUID(int=count - 1).bytes, ("c0", -1))  # in the unflushed batch
    assert facts.distinct() is (not repeat and way != "replaced by SQLite")
    if not repeat and way != "replaced by SQLite":
        assert facts.repeated == 0  # known without reading the facts back
    got = [fact for stream, fact in facts.items() if stream == "invoices"]
    assert len(got) == count and facts.repeated == int(repeat)
    assert got[-1] == (("c0", -1) if repeat else (f"c{count - 1}", count - 1))
    facts.close()
    assert not facts.distinct()  # closed: nothing to tell


@pytest.mark.parametrize("repeat", [False, True])
def test_without_a_repeat_the_aggregator_never_reads_its_facts_back(way, monkeypatch, repeat):
    """The aggregator folds each fact as it comes; when no record came twice, those folds are
    the result and the facts stay unread; when one did, they are read back and folded again,
    its last version in its first one's place (always, when suspects were left to SQLite)."""
    _overflow_at_once(way, monkeypatch)
    reads = []
    every_fact = DiskFacts._all

    def counted(self):
        reads.append(1)
        return every_fact(self)

    monkeypatch.setattr(DiskFacts, "_all", counted)
    settings = MappingSettings(today=date(2025, 6, 15))
    aggregator = BillingAggregator(settings, DiskFacts())
    aggregator.add("customers", {"lago_id": "c1", "currency": "EUR"})
    for n in range(300):
        aggregator.add("invoices", invoice(str(uuid.UUID(int=n)), total=100))
    if repeat:  # sent again, paid
        aggregator.add(
            "invoices", invoice(str(uuid.UUID(int=7)), total=100, payment_status="succeeded")
        )
    result = aggregator.finalize(BILLING_STREAMS)
    (c1,) = result.customers
    assert c1.properties["lago_outstanding_amount"] == ("299.00" if repeat else "300.00")
    assert result.summary.duplicates == int(repeat)
    assert bool(reads) is (repeat or way == "replaced by SQLite")


def _overflow_at_once(way, monkeypatch):
    """With suspects left to SQLite, whether a key meets another's bit depends on the hash
    seed: every key a suspect makes the store give them to SQLite at its second put."""
    if way == "replaced by SQLite":
        monkeypatch.setattr(facts_module, "SEEN_BITS", 8)


def test_memory_stays_flat_with_the_number_of_records():
    """100,000 finalized invoices of 1,000 customers through the aggregator: what Python holds
    is one batch of facts and the per-customer numbers, not the invoices (in a dict, over
    20 MB)."""
    settings = MappingSettings(today=date(2025, 6, 15))

    def invoice(n: int) -> dict[str, object]:
        return {
            "lago_id": str(uuid.UUID(int=n)),
            "status": "finalized",
            "payment_status": "pending",
            "currency": "EUR",
            "issuing_date": "2025-05-01",
            "payment_due_date": "2025-07-01",
            "total_amount_cents": 1000,
            "total_due_amount_cents": 1000,
            "customer": {"lago_id": f"c{n % 1000}"},
        }

    warm_up = BillingAggregator(settings, DiskFacts())  # loads the ISO 4217 table once
    warm_up.add("invoices", invoice(0))
    warm_up.finalize(BILLING_STREAMS)
    tracemalloc.start()
    try:
        aggregator = BillingAggregator(settings, DiskFacts())
        for n in range(1000):
            aggregator.add("customers", {"lago_id": f"c{n}", "currency": "EUR"})
        for n in range(100_000):
            aggregator.add("invoices", invoice(n))
        fed = tracemalloc.get_traced_memory()[1]
        result = aggregator.finalize(BILLING_STREAMS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    amounts = {c.properties["lago_outstanding_amount"] for c in result.customers}
    assert len(result.customers) == 1000 and amounts == {"1000.00"}
    assert fed < 5_000_000 and peak < 5_000_000, (fed, peak)


SPILL_UNDER_A_FILE_SIZE_LIMIT = """
import resource, sys
from destination_hubspot_lago.billing.facts import DiskFacts
from destination_hubspot_lago.billing.links import INVOICES, LinkStore
from destination_hubspot_lago.sync.tempdb import TempStorageProblem

# Files may not grow beyond 4 KB (Python ignores SIGXFSZ: writes fail with EFBIG), as on a
# full disk: SQLite's temporary file fails once the page cache (2 MB) spills to it.
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
store = DiskFacts() if sys.argv[1] == "facts" else LinkStore()
try:
    for n in range(200_000):
        key = f"{n:012d}-0000-0000-0000-000000000000"
        if sys.argv[1] == "facts":
            store.put("invoices", key, ("c1", 1, "2025-01-01", "EUR", 1000, 0, 1, key))
        else:
            store.written(INVOICES, key, str(10**10 + n))
            store.add_fee(key, key)
    list(store.items() if sys.argv[1] == "facts" else store.rows())
except TempStorageProblem as problem:
    print(problem)
"""


@pytest.mark.parametrize("store", ["facts", "links"])
def test_a_temporary_directory_that_cannot_be_written_is_a_problem_that_says_what_to_do(store):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", SPILL_UNDER_A_FILE_SIZE_LIMIT, store],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "temporary file" in run.stdout and "set TMPDIR" in run.stdout, run.stdout
