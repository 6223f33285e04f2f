"""docs/product.md §8 in the sync: what the loop observes, and the jobs that reconcile after it.

:class:`Reconciliation` is a sync part (``sync/parts.py``): the loop and the sinks feed it
every customers and subscriptions record and every customer write folded, on the loop thread.
After the final checkpoint, :meth:`Reconciliation.finish` freezes what the sync saw
(:class:`~.plan.SyncSeen`) and hands it to a :class:`Terminations`, whose jobs the loop runs
like any other: each batch of ≤ 100 inputs is one job (``work``: one call of
``hubspot_io.py``, on a worker, paced by the client's one pacer), and each fold, on the loop
thread, answers the next ones:

    customers by lago_customer_id ─▶ their associations, page by page ─▶ those records
    ─▶ (every read folded) the plan ─▶ the update batches ─▶ (every one folded) the outcome

Only the folds change :class:`Terminations`' state; a ``work`` closure reads nothing it
captures that a fold may change. Every call goes through the sync's writer, so a dry run
(``DryRunWriter``) reads, and answers what it would mark, without writing.

With change tracking (docs/product.md §10), a customer whose set of subscriptions is the one
the last sync reconciled is not read: HubSpot's active records for it were reconciled then,
and none of its subscriptions stopped arriving since. Once a reconciliation ran through with
no guard and nothing refused, each customer's set enters the ledger.

Completeness is the loop's own (``SyncEnd``): every ``subscriptions`` stream of the sync covered
by a STATE after its last record. A sync that failed never finishes its parts (the loop ends
first); unreadable input lines hold reconciliation back, since one may have been a subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from airbyte_protocol_dataclasses.models import ConfiguredAirbyteCatalog

from ..changes.ledger import RECORD, SUBSCRIPTION_SET, Ledger
from ..config import DestinationConfig
from ..hubspot import HubSpotError
from ..hubspot.batches import AssociatedPage, Writer
from ..portal.model import MODEL
from ..records.streams import CUSTOMERS, SUBSCRIPTIONS, stream_kind
from ..sync.jobs import Job, StreamKey
from ..sync.parts import SyncEnd, SyncPart
from .hubspot_io import (
    BATCH,
    CUSTOMER_OBJECTS,
    LAGO_SUBSCRIPTIONS,
    Marked,
    active_subscriptions,
    customer_records,
    mark_terminated,
    subscription_links,
    terminated_properties,
)
from .plan import (
    MRR,
    ActiveRecord,
    Guard,
    Mode,
    StreamFacts,
    SyncObservations,
    SyncSeen,
    TerminationOutcome,
    TerminationPlan,
    plan_terminations,
    stream_guard,
)

logger = logging.getLogger("airbyte")

T = TypeVar("T")


class Reconciliation(SyncPart):
    """docs/product.md §8 as a sync part: observations of one sync, and the jobs that
    reconcile after it."""

    def __init__(
        self,
        config: DestinationConfig,
        writer: Writer,
        catalog: ConfiguredAirbyteCatalog | None,
        ledger: Ledger | None = None,
    ) -> None:
        self.config = config
        self.writer = writer
        self.ledger = ledger
        self.catalog_streams: frozenset[StreamKey] | None = (
            None
            if catalog is None
            else frozenset((c.stream.namespace, c.stream.name) for c in catalog.streams)
        )
        self.observed = SyncObservations()
        self.run: Terminations | None = None

    def record(self, kind: str, data: Mapping[str, Any]) -> None:
        """A record of a stream this sync consumes (``kind`` as its sink names it)."""
        if kind in (CUSTOMERS, SUBSCRIPTIONS):
            self.observed.record(kind, data)

    def customer_written(
        self, lago_id: str, obj: str, hubspot_id: str | None, created: bool
    ) -> None:
        self.observed.customer_written(lago_id, obj, hubspot_id, created)

    def facts(
        self,
        completed: Collection[StreamKey],
        streams: Collection[StreamKey],
        unreadable_lines: int = 0,
    ) -> StreamFacts:
        """``streams``: every stream of this sync (catalog and seen); ``completed``: those a
        STATE covered after their last record."""
        catalog = self.catalog_streams if self.catalog_streams is not None else streams
        subscription_streams = [s for s in streams if stream_kind(s[1]) == SUBSCRIPTIONS]
        return StreamFacts(
            in_catalog=any(stream_kind(s[1]) == SUBSCRIPTIONS for s in catalog),
            enabled=self.config.sync_subscriptions,
            complete=bool(subscription_streams)
            and all(s in completed for s in subscription_streams),
            records=self.observed.subscription_records,
            unreadable_lines=unreadable_lines,
        )

    def finish(self, end: SyncEnd) -> Sequence[Job]:
        seen = self.observed.seen(self.facts(end.completed, end.streams, end.unreadable_lines))
        zero_mrr = any(p.name == MRR for p in MODEL.subscriptions.properties)
        mode = self.config.terminated_subscriptions
        self.run = Terminations(self.writer, seen, mode, zero_mrr, self.ledger)
        return self.run.start()

    def summary(self) -> list[str]:
        outcome = self.run.outcome if self.run is not None else None
        return [outcome.summary_line()] if outcome is not None else []


class Terminations:
    """One reconciliation, as a chain of jobs; its state is the folds' (loop thread).

    :meth:`start` answers the first jobs; once the loop folded every job answered,
    :attr:`outcome` is set (at once when :meth:`start` answers none)."""

    def __init__(
        self,
        writer: Writer,
        seen: SyncSeen,
        mode: Mode,
        zero_mrr: bool,
        ledger: Ledger | None = None,
    ) -> None:
        self.writer = writer
        self.ledger = ledger
        self.seen = seen
        self._not_read_active = seen.new_active  # in the mass-change share, not read
        # customer -> digest of its subscriptions, where it is not the ledger's already (§10)
        self._sets: dict[str, int] = {}
        self.mode = mode
        self.properties = terminated_properties(zero_mrr)
        self.plan: TerminationPlan | None = None
        self.outcome: TerminationOutcome | None = None
        # What the folds learnt:
        self.customers: dict[tuple[str, str], str] = {}  # (obj, HubSpot id) -> lago id
        self.associated: dict[str, set[str]] = {}  # subscription HubSpot id -> lago ids
        self.records: dict[str, ActiveRecord] = {}  # HubSpot id -> an active record read
        self._queued: list[str] = []  # subscription HubSpot ids to read, not yet in a job
        self._read_error: HubSpotError | None = None
        self._marked = Marked()
        self._open = 0  # jobs answered and not folded yet (of the current step)

    # -- the steps --------------------------------------------------------------------

    def start(self) -> list[Job]:
        stopped = stream_guard(self.seen.facts, self.mode)
        if stopped is None and not self.writer.deployed(LAGO_SUBSCRIPTIONS):
            stopped = (Guard.NOT_DEPLOYED, "the LagoSubscriptions object is not deployed")
        if stopped is not None:
            self._end(guard=stopped[0], message=stopped[1])
            return []
        to_read = self._unreconciled(self.seen.to_read)
        known = {k: v for k, v in self.seen.known.items() if k in to_read}
        look_up = sorted(to_read - set(known))
        jobs: list[Job] = []
        for obj in CUSTOMER_OBJECTS:
            mine = {hubspot_id: lago for lago, (o, hubspot_id) in known.items() if o == obj}
            jobs += self._customers_found(obj, mine)
            for chunk in _chunks(look_up):
                work = partial(customer_records, self.writer, obj, tuple(chunk))
                jobs.append(self._read(work, partial(self._customers_found, obj)))
        return jobs or self._reads_done()

    def _unreconciled(self, customers: frozenset[str]) -> frozenset[str]:
        """§10: the customers whose subscriptions are not the set the last sync reconciled
        (all of them without a ledger)."""
        ledger, seen = self.ledger, self.seen
        if ledger is None:
            return customers
        known = []
        for customer in customers | seen.new:
            digest = self._sets[customer] = ledger.digest(seen.subscription_sets.get(customer, 0))
            if customer not in seen.new:
                known.append(("customers", customer, digest, None))
        same = {lago_id for _, lago_id in ledger.unchanged_all(SUBSCRIPTION_SET, known)}
        for customer in same:
            self._not_read_active += seen.active_by_customer.get(customer, 0)
            del self._sets[customer]  # its entry stays as it is: nothing to confirm again
        return frozenset(customer for _, customer, _, _ in known if customer not in same)

    def _customers_found(self, obj: str, found: Mapping[str, str]) -> list[Job]:
        """Customers' records (HubSpot id -> lago id): read their associations."""
        self.customers.update({(obj, hubspot_id): lago for hubspot_id, lago in found.items()})
        return self._link_jobs(obj, [(hubspot_id, None) for hubspot_id in sorted(found)])

    def _link_jobs(self, obj: str, inputs: Sequence[tuple[str, str | None]]) -> list[Job]:
        return [
            self._read(
                partial(subscription_links, self.writer, obj, tuple(chunk)),
                partial(self._links_found, obj),
            )
            for chunk in _chunks(inputs)
        ]

    def _links_found(self, obj: str, page: AssociatedPage) -> list[Job]:
        """A page of associations: its inputs' next pages, and a read of the records found
        for each full batch of them (the last, partial one once every read is folded)."""
        for customer_id, subscription_ids in page.linked.items():
            customer = self.customers.get((obj, customer_id))
            if customer is None:  # not one of the inputs: nothing to attribute
                continue
            for hubspot_id in subscription_ids:
                if hubspot_id not in self.associated:
                    self.associated[hubspot_id] = set()
                    self._queued.append(hubspot_id)
                self.associated[hubspot_id].add(customer)
        return self._link_jobs(obj, page.more) + self._record_jobs(full_only=True)

    def _record_jobs(self, full_only: bool) -> list[Job]:
        jobs = []
        while len(self._queued) >= BATCH or (self._queued and not full_only):
            chunk, self._queued = tuple(self._queued[:BATCH]), self._queued[BATCH:]
            work = partial(active_subscriptions, self.writer, chunk)
            jobs.append(self._read(work, self._records_found))
        return jobs

    def _records_found(self, records: Sequence[ActiveRecord]) -> list[Job]:
        self.records.update({r.hubspot_id: r for r in records})
        return []

    def active_records(self) -> list[ActiveRecord]:
        """The records read that HubSpot shows active, with the seen customers they are
        associated with (complete once every read was folded)."""
        return [
            replace(r, associated_customer_ids=frozenset(self.associated.get(r.hubspot_id, ())))
            for r in self.records.values()
        ]

    def _reads_done(self) -> list[Job]:
        """Every read answered was folded: the records still queued, else the plan and the
        update batches."""
        if self._read_error is not None:
            message = f"reading HubSpot failed: {self._read_error}"
            logger.warning("Terminated subscriptions not reconciled: %s", message)
            self._end(guard=Guard.READ_FAILED, message=message)
            return []
        if self._queued:
            return self._record_jobs(full_only=False)
        seen = self.seen
        self.plan = plan_terminations(
            self.active_records(),
            seen.customers,
            seen.subscriptions,
            seen.facts,
            self.mode,
            self._not_read_active,
        )
        if self.plan.guard is not None:
            logger.warning("Terminated subscriptions held back: %s", self.plan.message)
            self._end(guard=self.plan.guard, message=self.plan.message)
            return []
        jobs = [
            self._job(
                partial(mark_terminated, self.writer, tuple(chunk), self.properties),
                self._updated,
            )
            for chunk in _chunks(self.plan.to_mark)
        ]
        return jobs or self._updates_done()

    def _updated(self, answer: Marked) -> list[Job]:
        if self.ledger is not None:  # §10: HubSpot no longer holds what the ledger says
            for lago_id in answer.marked:
                self.ledger.forget(LAGO_SUBSCRIPTIONS, lago_id, RECORD)
        self._marked.marked += answer.marked
        self._marked.refused += answer.refused
        return []

    def _updates_done(self) -> list[Job]:
        """Every update batch folded: the outcome, and its log lines."""
        marked, refused = sorted(self._marked.marked), sorted(self._marked.refused)
        for lago_id, why in refused:
            logger.error("Marking subscription %s terminated was refused: %s", lago_id, why)
        if self.writer.dry_run:  # the words only: the writer decided what it wrote
            self._end(would_mark=marked, refused=refused)
            if marked:
                logger.info(
                    "Dry run: would mark %d LagoSubscriptions terminated: %s",
                    len(marked),
                    ", ".join(marked),
                )
        else:
            self._end(marked=marked, refused=refused)
            if marked:
                logger.info(
                    "Marked %d LagoSubscriptions terminated (no longer listed by Lago): %s",
                    len(marked),
                    ", ".join(marked),
                )
        return []

    def _end(self, **outcome: Any) -> None:
        self.outcome = TerminationOutcome(dry_run=self.writer.dry_run, plan=self.plan, **outcome)
        ledger = self.ledger
        if ledger is not None and "guard" not in outcome and not outcome.get("refused"):
            for customer, digest in self._sets.items():  # reconciled (§10)
                ledger.confirm("customers", customer, SUBSCRIPTION_SET, "", digest)

    # -- the chain's bookkeeping --------------------------------------------------------

    def _read(self, work: Callable[[], T], fold: Callable[[T], list[Job]]) -> Job:
        """A read's job: a HubSpot error is its answer (the ``read_failed`` guard), and once
        one came, the reads still answered are folded without answering more."""

        def read() -> T | HubSpotError:
            try:
                return work()
            except HubSpotError as error:
                return error

        def folded(answer: T | HubSpotError) -> list[Job]:
            if isinstance(answer, HubSpotError):
                self._read_error = self._read_error or answer
                return []
            return [] if self._read_error is not None else fold(answer)

        return self._job(read, folded)

    def _job(self, work: Callable[[], T], fold: Callable[[T], list[Job]]) -> Job:
        """A job of the current step; the fold of its last answers the next step."""
        self._open += 1

        def folded(answer: T) -> Sequence[Job]:
            self._open -= 1
            jobs = fold(answer)  # counted in _open
            if self._open:
                return jobs
            return self._reads_done() if self.plan is None else self._updates_done()

        return Job((), work, folded)


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[start : start + BATCH] for start in range(0, len(items), BATCH)]
