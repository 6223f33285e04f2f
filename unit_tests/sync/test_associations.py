"""Association batches (sync/associations.py): a full one goes out as soon as it is full,
whichever way its last pair arrived; the rest waits for the checkpoint's drain."""

from __future__ import annotations

from destination_hubspot_lago.sync.associations import Associations
from destination_hubspot_lago.sync.report import SyncReport


class Recorder:
    """A writer that records what would be associated (the jobs are run by hand)."""

    dry_run = False

    def __init__(self) -> None:
        self.batches: list[tuple[str, str, list[tuple[str | None, str | None]]]] = []

    def associate(self, obj, customer_obj, pairs, type_id):
        self.batches.append((obj, customer_obj, list(pairs)))


def sent(jobs) -> int:
    for job in jobs:
        job.work()
    return len(jobs)


def test_a_full_batch_is_answered_at_once_and_only_then():
    writer = Recorder()
    associations = Associations(writer, SyncReport(), batch_size=3)
    associations.customer_written("c1", "companies", "900")
    for n in range(2):
        associations.record_written("invoices", str(n), f"i{n}", "c1")
        assert sent(associations.full_batches()) == 0  # not full yet
    associations.record_written("invoices", "2", "i2", "c1")
    assert sent(associations.full_batches()) == 1
    assert writer.batches == [("invoices", "companies", [("0", "900"), ("1", "900"), ("2", "900")])]
    assert sent(associations.full_batches()) == 0  # nothing new since


def test_a_batch_filled_by_records_waiting_for_their_customer_is_answered_too():
    writer = Recorder()
    associations = Associations(writer, SyncReport(), batch_size=2)
    associations.record_written("subscriptions", "10", "s1", "c1")  # c1 not known yet
    associations.record_written("subscriptions", "11", "s2", "c1")
    assert sent(associations.full_batches()) == 0
    associations.customer_written("c1", "contacts", "77")  # both pairs at once
    assert sent(associations.full_batches()) == 1
    assert writer.batches == [("subscriptions", "contacts", [("10", "77"), ("11", "77")])]


def test_what_is_not_full_waits_for_the_drain():
    writer = Recorder()
    associations = Associations(writer, SyncReport(), batch_size=5)
    associations.customer_written("c1", "companies", "900")
    associations.record_written("invoices", "1", "i1", "c1")
    assert sent(associations.full_batches()) == 0
    assert sent(associations.drain()) == 1
    assert writer.batches == [("invoices", "companies", [("1", "900")])]
    assert sent(associations.drain()) == 0
