"""The invoice <-> subscription link state on disk (billing/links.py): distinct pairs in
order, each end's last event of the sync, and memory that does not grow with the streams."""

from __future__ import annotations

import threading
import tracemalloc
import uuid

import pytest

from destination_hubspot_lago.billing.links import (
    FLUSH_ROWS,
    INVOICES,
    NOT_SYNCED,
    SUBSCRIPTIONS,
    UNSEEN,
    End,
    LinkRow,
    LinkStore,
)


def written(hubspot_id):
    return End(seen=True, written=True, hubspot_id=hubspot_id)


def test_distinct_pairs_sorted_with_their_fees_and_both_ends():
    store = LinkStore()
    for invoice, subscription in [("i2", "s1"), ("i1", "s2"), ("i1", "s1"), ("i1", "s1")]:
        store.add_fee(invoice, subscription)
    store.written(INVOICES, "i1", "101")
    store.not_synced(INVOICES, "i2")
    store.written(SUBSCRIPTIONS, "s1", "201")
    assert list(store.rows()) == [
        LinkRow("i1", "s1", 2, written("101"), written("201")),
        LinkRow("i1", "s2", 1, written("101"), UNSEEN),  # s2: not in this sync, to be read
        LinkRow("i2", "s1", 1, NOT_SYNCED, written("201")),
    ]
    assert store.fees == 4
    store.close()


def test_the_last_event_of_a_record_wins():
    store = LinkStore()
    store.add_fee("i1", "s1")
    store.add_fee("i2", "s2")
    store.not_synced(INVOICES, "i1")  # a version skipped (or rejected) ...
    store.written(INVOICES, "i1", "101")  # ... then a later one written: linked
    store.written(SUBSCRIPTIONS, "s2", "202")  # written ...
    store.not_synced(SUBSCRIPTIONS, "s2")  # ... then a later version rejected: not linked
    rows = {(r.invoice, r.subscription): r for r in store.rows()}
    assert rows["i1", "s1"].invoice_end == written("101")
    assert not rows["i1", "s1"].invoice_end.excluded
    assert rows["i2", "s2"].subscription_end == NOT_SYNCED
    assert rows["i2", "s2"].subscription_end.excluded
    store.close()


def test_a_dry_run_creation_is_written_without_an_id():
    store = LinkStore()
    store.add_fee("i1", "s1")
    store.written(INVOICES, "i1", None)
    [row] = store.rows()
    assert row.invoice_end.written and row.invoice_end.hubspot_id is None
    assert not row.invoice_end.excluded
    store.close()


def test_rows_beyond_one_batch_of_inserts_come_back_complete_and_in_order():
    store = LinkStore()
    count = FLUSH_ROWS * 2 + 7
    for n in reversed(range(count)):
        store.add_fee(f"i{n:06d}", f"s{n % 10}")
        store.written(INVOICES, f"i{n:06d}", str(n))
    rows = list(store.rows())
    assert [r.invoice for r in rows] == [f"i{n:06d}" for n in range(count)]
    assert all(r.invoice_end == written(str(int(r.invoice[1:]))) for r in rows)
    store.close()


def test_memory_stays_flat_with_the_number_of_records():
    """60,000 fees, invoices and subscriptions (12 insert batches each): what Python holds
    is the insert buffers (about 2.5 MB), not the ids (60,000 of them in a set: over 7 MB)."""
    tracemalloc.start()
    try:
        store = LinkStore()
        for n in range(60_000):
            invoice, subscription = str(uuid.UUID(int=n)), str(uuid.UUID(int=(n // 2) << 64))
            store.add_fee(invoice, subscription)
            store.written(INVOICES, invoice, str(10**10 + n))
            store.written(SUBSCRIPTIONS, subscription, str(10**11 + n))
        fed = tracemalloc.get_traced_memory()[1]
        assert sum(1 for _ in store.rows()) == 60_000
        peak = tracemalloc.get_traced_memory()[1]
        store.close()
    finally:
        tracemalloc.stop()
    assert fed < 4_000_000 and peak < 4_000_000, (fed, peak)


def test_closed_store_has_no_rows_and_close_is_idempotent():
    store = LinkStore()
    store.add_fee("i1", "s1")
    store.written(INVOICES, "i1", "101")
    store.close()
    store.close()
    assert list(store.rows()) == []
    store.add_fee("i2", "s2")  # after the end: ignored, never an error
    assert list(store.rows()) == []


def test_the_store_is_the_loop_threads_only():
    store = LinkStore()
    for n in range(FLUSH_ROWS):  # the connection exists once a batch was inserted
        store.add_fee(f"i{n}", "s1")
    failures = []

    def elsewhere():
        try:
            list(store.rows())
        except Exception as error:  # sqlite3 refuses a connection made on another thread
            failures.append(error)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert failures
    assert len(list(store.rows())) == FLUSH_ROWS
    store.close()


@pytest.mark.parametrize("kind", [INVOICES, SUBSCRIPTIONS])
def test_an_end_without_any_event_is_unseen(kind):
    store = LinkStore()
    store.add_fee("i1", "s1")
    store.written(kind, "other", "1")
    [row] = store.rows()
    assert (row.invoice_end, row.subscription_end) == (UNSEEN, UNSEEN)
    store.close()
