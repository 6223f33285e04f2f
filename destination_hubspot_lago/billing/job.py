"""docs/product.md §6's post-sync part: plan values, invoice ↔ subscription links, roll-ups.

:class:`BillingValues` is a sync part (``sync/parts.py``), owned by the message loop like all
sync state. The sinks feed it (``record`` for every record of the streams the sync consumes,
skipped ones too; ``customer_written`` when a customer job is folded; ``synced`` with the
HubSpot id of each subscription and invoice written, ``not_synced`` for those this sync
skipped or rejected). After the final checkpoint, :meth:`BillingValues.finish` answers the
post-sync jobs, given the stream kinds received completely (``SyncEnd.complete_kinds``):

* **Deferred plan values** — a subscription written before its plan arrived gets a second
  write of just its plan properties (``batch/upsert`` by ``lago_subscription_id`` of a record
  this sync wrote, so an update), once the ``plans`` stream is complete.
* **Invoice ↔ subscription links** — from a complete ``fees`` stream: each distinct pair
  whose invoice and subscription are both in HubSpot and neither's last version was skipped
  by the status rules or rejected in this sync. The HubSpot ids are the ones this sync's
  upserts answered (handed over by the sinks' folds, ``synced``); only ends this sync did not
  write (an earlier sync's) are read by their Lago ids (``batch/read``, strongly consistent).
  Typed ``batch/create`` with the deployed type id, sorted batches: idempotent. A fee naming
  a record HubSpot does not hold is counted in the summary. A dry run counts the links of
  records it would create as planned.
* **Roll-ups** — :class:`~destination_hubspot_lago.billing.aggregator.BillingAggregator` per
  customer written in this sync, only from complete streams; ``batch/update`` by the HubSpot
  id this sync's write answered (the record the customer's ``lago_customer_id`` or Lago's link
  names), so a roll-up never creates a record. A refusal is logged and counted in the
  summary, not a rejected record: the customer itself was written.

Memory: the plans, one small aggregate per customer, (plan code, status) of subscriptions
waiting for their plan, and the HubSpot id of each customer of the sync — never whole
streams. What grows with the streams is on disk until it is used, then dropped (``close``
drops it after a failure): the link state (fees' pairs, ids written or not synced,
``billing/links.py``) and the aggregator's fact per subscription, invoice and wallet
(``billing/facts.py``), which lets a record sent twice count once, in its last version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..changes.ledger import LINK, PLAN, ROLLUP, Ledger
from ..hubspot.batches import AssociationOutcome, Item, Outcome, Writer
from ..portal.model import MODEL
from ..records.streams import FEES, PLANS, SUBSCRIPTIONS, WALLETS
from ..sync.jobs import NO_JOBS, Job
from ..sync.parts import SyncEnd, SyncPart, SyncStart
from .aggregator import ROLLUP_STREAMS, BillingAggregator, counted, fee_link
from .deferred import DeferredPlanValues
from .links import End, LinkRow, LinkStore
from .plans import PlanTerms, plan_for, subscription_plan_values, text_or_none

logger = logging.getLogger("airbyte")
_SUBSCRIPTION_WORDS = ("subscription", "subscriptions")
_LINK_WORDS = ("invoice-subscription association", "invoice-subscription associations")

BILLING_ONLY_STREAMS = (PLANS, FEES, WALLETS)  # consumed for §6, written nowhere themselves
LINK_FROM, LINK_TO = "invoices", "subscriptions"
LINK_KINDS = (LINK_FROM, LINK_TO)
MAX_LOGGED_REFUSALS = 20


class BillingValues(SyncPart):
    """docs/product.md §6 as a sync part: fed by every record and write the sinks fold, it
    writes plan values, links and roll-ups after the final checkpoint (``finish``)."""

    def __init__(
        self,
        writer: Writer,
        aggregator: BillingAggregator,
        batch_size: int,
        type_ids: Mapping[tuple[str, str], int] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.writer = writer
        # docs/product.md §10: values HubSpot holds as computed already are not written again
        self.ledger = ledger
        self.aggregator = aggregator
        self.batch_size = batch_size
        self.link_type_id = (type_ids or {}).get((LINK_FROM, LINK_TO))
        self.deferred = DeferredPlanValues()
        self.links = LinkStore()  # on disk: fees' pairs, ids written or not synced
        self._link_rows: Iterator[LinkRow] = iter(())
        self._customers: dict[str, tuple[str, str | None]] = {}  # written this sync
        self._open: set[str] = set()  # stream kinds this sync consumes
        self._concurrency = 1  # link chains at once: the loop's (see start)
        self._plans_expected = True  # the plans stream may still come (see start)
        self._fees_expected = True  # the fees stream may still come: keep the links' ends
        # lago_id -> (plan code, status) of subscriptions mapped without their plan, which the
        # plans stream may still bring: once written, they wait in ``deferred``.
        self._awaiting_plan: dict[str, dict[str, Any]] = {}
        # What finish() did, for the summary.
        self._lines: list[str] = []
        self.plan_updates = 0
        self.links_made = 0
        self.rollups_written = 0  # customers whose roll-ups HubSpot took (a dry run: would take)
        self.rollups_planned = 0  # a dry run's customers that it would create, roll-ups and all
        self.refusals = 0
        self.unchanged = 0  # roll-ups, plan values and links HubSpot holds already (§10)
        self.unknown_invoice_fees = 0  # fees whose invoice is not in HubSpot (or excluded)
        self.unknown_subscription_fees = 0

    @property
    def plans(self) -> Mapping[str, PlanTerms]:
        """The plans received so far by code."""
        return self.aggregator.plans

    def plan_values(self, subscription: Mapping[str, Any]) -> Mapping[str, str]:
        """The subscription's plan properties from its nested plan or the plans so far (empty
        when neither has it: a later plans stream may still bring it, see ``_await_plan``)."""
        return subscription_plan_values(
            subscription, plan_for(subscription, self.aggregator.plans)
        ).properties

    # -- fed by the loop and the sinks (loop thread) ----------------------------------

    def start(self, start: SyncStart) -> None:
        """The stream kinds this sync consumes; with a catalog, log the billing streams it lacks."""
        self._open = set(start.kinds)
        self._concurrency = max(1, start.concurrency)
        if not start.from_catalog:
            return
        self._plans_expected = PLANS in self._open
        self._fees_expected = FEES in self._open
        for stream in BILLING_ONLY_STREAMS:
            if stream not in self._open:
                logger.info(
                    "Stream %s is not in the catalog: %s not written (select it in the "
                    "connection to get them).",
                    stream,
                    _what_needs(stream),
                )

    def record(self, kind: str, data: Mapping[str, Any]) -> None:
        self.aggregator.add(kind, data)
        if kind == FEES:
            pair = fee_link(data)
            if pair is not None:
                self.links.add_fee(*pair)
        elif kind == SUBSCRIPTIONS:
            self._await_plan(data)

    def _await_plan(self, subscription: Mapping[str, Any]) -> None:
        """A subscription mapped without its plan, which a ``plans`` stream may still bring,
        waits for it (the record is mapped with the plans as they are now)."""
        lago_id = text_or_none(subscription.get("lago_id"))
        if lago_id is None:
            return
        if self._plans_expected and plan_for(subscription, self.aggregator.plans) is None:
            fields = ("lago_id", "plan_code", "status")
            self._awaiting_plan[lago_id] = {f: subscription.get(f) for f in fields}
        else:
            self._awaiting_plan.pop(lago_id, None)

    def customer_written(
        self, lago_id: str, obj: str, hubspot_id: str | None, created: bool
    ) -> None:
        self._customers[lago_id] = (obj, hubspot_id)

    def not_synced(self, kind: str, lago_id: str) -> None:
        """A subscription/invoice this sync skipped by the status rules or rejected."""
        if kind in LINK_KINDS and self._fees_expected:
            self.links.not_synced(kind, lago_id)
        if kind == SUBSCRIPTIONS:
            self._awaiting_plan.pop(lago_id, None)

    def synced(self, kind: str, lago_id: str, hubspot_id: str | None) -> None:
        """A subscription/invoice written, with the HubSpot id its upsert answered (None: a
        record a dry run would create). Of a record's versions, the last event wins."""
        if kind in LINK_KINDS and self._fees_expected:
            self.links.written(kind, lago_id, hubspot_id)
        if kind == SUBSCRIPTIONS:
            waiting = self._awaiting_plan.pop(lago_id, None)
            if waiting is not None:
                self.deferred.add(waiting)

    # -- after the final checkpoint -------------------------------------------------

    def finish(self, end: SyncEnd) -> Sequence[Job]:
        """A kind is complete when every stream of that kind is (docs/product.md §6)."""
        self._open = set(end.kinds)  # streams seen without a catalog count too
        complete = end.complete_kinds
        return [
            *self._plan_jobs(complete),
            *self._link_jobs(complete),
            *self._rollup_jobs(complete),
        ]

    def _why(self, stream: str) -> str:
        if stream not in self._open:
            return f"the {stream} stream was not selected"
        return f"the {stream} stream was not received completely"

    def _plan_jobs(self, complete: frozenset[str]) -> list[Job]:
        waiting = len(self.deferred)
        if not waiting:
            return []
        if PLANS not in complete:
            self._lines.append(
                f"{counted(waiting, *_SUBSCRIPTION_WORDS)} that arrived before their plan: plan "
                f"values not written because {self._why(PLANS)}"
            )
            return []
        found, unknown = self.deferred.resolve(self.aggregator.plans)
        if unknown:
            self._lines.append(
                f"{counted(unknown, *_SUBSCRIPTION_WORDS)} with plan values unknown (plan not in "
                "the plans stream)"
            )
        items = []
        digests: dict[str, int] = {}
        ledger = self.ledger
        for lago_id, properties in found:
            if ledger is not None:
                digest = digests[lago_id] = ledger.digest(properties)
                if ledger.unchanged(LINK_TO, lago_id, PLAN, digest) is not None:
                    self.unchanged += 1
                    continue
            items.append(Item(lago_id, properties))
        fold = self._fold_plan_values(digests)
        jobs = []
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            jobs.append(
                Job(
                    [],
                    lambda b=batch: self.writer.upsert(  # type: ignore[misc]
                        LINK_TO, MODEL.subscriptions.id_property, b
                    ),
                    fold,
                )
            )
        return jobs

    def _fold_plan_values(self, digests: Mapping[str, int]) -> Callable[[Outcome], Sequence[Job]]:
        def fold(outcome: Outcome) -> Sequence[Job]:
            self.plan_updates += len(outcome.written)
            if self.ledger is not None:
                for written in outcome.written:
                    digest = digests[written.key]
                    self.ledger.confirm(LINK_TO, written.key, PLAN, written.hubspot_id, digest)
            for rejected in outcome.rejected:
                self._refused("plan values of subscription", rejected.key, rejected.message)
            return NO_JOBS

        return fold

    def _link_jobs(self, complete: frozenset[str]) -> list[Job]:
        if FEES not in complete:
            if FEES in self._open or self.links.fees:
                self._lines.append(
                    f"invoice-subscription associations not made because {self._why(FEES)}"
                )
            self.links.close()
            return []
        self._link_rows = self.links.rows()
        jobs = []
        # One chain per job the loop runs at once (each fold answers its chain's next batch):
        # the associations lane, not the chains, sets the pace.
        for _ in range(self._concurrency):
            job = self._next_link_job()
            if job is None:
                break
            jobs.append(job)
        return jobs

    def _next_link_job(self) -> Job | None:
        """The next batch of pairs neither of whose ends was excluded in this sync (loop
        thread); None, and the link state dropped, once every pair was handed out."""
        rows: list[LinkRow] = []
        for row in self._link_rows:
            excluded = False
            if row.invoice_end.excluded:
                self.unknown_invoice_fees += row.fees
                excluded = True
            if row.subscription_end.excluded:
                self.unknown_subscription_fees += row.fees
                excluded = True
            if excluded:
                continue
            if self._link_unchanged(row):
                continue
            rows.append(row)
            if len(rows) >= self.batch_size:
                break
        if not rows:
            self.links.close()
            return None
        return self._link_job(rows)

    def _link_unchanged(self, row: LinkRow) -> bool:
        """§10: the previous sync made this link between the same two HubSpot records."""
        ledger = self.ledger
        invoice, subscription = row.invoice_end, row.subscription_end
        if ledger is None or not (invoice.written and subscription.written):
            return False
        if invoice.hubspot_id is None or subscription.hubspot_id is None:
            return False
        key = _link_key(row.invoice, row.subscription)
        digest = ledger.digest(subscription.hubspot_id)
        if ledger.unchanged(LINK_FROM, key, LINK, digest, invoice.hubspot_id) is None:
            return False
        self.unchanged += 1
        return True

    def _link_job(self, rows: list[LinkRow]) -> Job:
        # Only the ends this sync did not write are read (written by an earlier sync, if any).
        invoice_ids = sorted({r.invoice for r in rows if not r.invoice_end.seen})
        subscription_ids = sorted({r.subscription for r in rows if not r.subscription_end.seen})
        writer, type_id = self.writer, self.link_type_id

        def work() -> tuple[_LinkBatch, AssociationOutcome]:
            batch = _LinkBatch.of(
                rows,
                _ids(writer, LINK_FROM, invoice_ids, MODEL.invoices.id_property),
                _ids(writer, LINK_TO, subscription_ids, MODEL.subscriptions.id_property),
            )
            outcome = (
                writer.associate(LINK_FROM, LINK_TO, batch.known, type_id)
                if batch.known
                else AssociationOutcome()
            )
            return batch, outcome

        def fold(answer: tuple[_LinkBatch, AssociationOutcome]) -> Sequence[Job]:
            batch, outcome = answer
            self.unknown_invoice_fees += batch.unknown_invoice_fees
            self.unknown_subscription_fees += batch.unknown_subscription_fees
            self.links_made += len(outcome.made) + batch.planned
            if self.ledger is not None:
                for pair in outcome.made:
                    invoice, subscription = batch.lago_pair[pair]
                    digest = self.ledger.digest(pair[1])
                    key = _link_key(invoice, subscription)
                    self.ledger.confirm(LINK_FROM, key, LINK, pair[0], digest)
            for pair, reason in outcome.failed:
                self._refused("association of invoice", batch.invoice_of.get(pair, "?"), reason)
            following = self._next_link_job()
            return (following,) if following is not None else NO_JOBS

        return Job([], work, fold)

    def _rollup_jobs(self, complete: frozenset[str]) -> list[Job]:
        result = self.aggregator.finalize(complete)
        self._lines.extend(result.summary.lines())
        not_selected = [s for s in (PLANS, WALLETS, FEES) if s not in self._open]
        if not_selected:
            self._lines.append(
                "billing values not computed because their stream was not selected: "
                + "; ".join(f"{s} ({_what_needs(s)})" for s in not_selected)
            )
        by_object: dict[str, list[Item]] = {}
        # (object, HubSpot id) -> (Lago id, digest): a company and a contact may share an id
        digests: dict[tuple[str, str], tuple[str, int]] = {}
        ledger = self.ledger
        rejected = planned = 0
        writes: list[tuple[str, str, str, Mapping[str, str], int]] = []  # obj, id, Lago id …
        for billing in result.customers:
            if not billing.properties:
                continue
            target = self._customers.get(billing.lago_id)
            if target is None:
                rejected += 1  # the customer was rejected in this sync: no roll-up
                continue
            obj, hubspot_id = target
            if hubspot_id is None:
                planned += 1  # dry run: the record would be created with this sync
                continue
            digest = ledger.digest(billing.properties) if ledger is not None else 0
            writes.append((obj, hubspot_id, billing.lago_id, billing.properties, digest))
        same = (
            ledger.unchanged_all(ROLLUP, ((w[0], w[2], w[4], w[1]) for w in writes))
            if ledger is not None
            else set()
        )
        for obj, hubspot_id, lago_id, properties, digest in writes:
            if (obj, lago_id) in same:
                self.unchanged += 1
                continue
            if ledger is not None:
                digests[(obj, hubspot_id)] = (lago_id, digest)
            by_object.setdefault(obj, []).append(Item(hubspot_id, properties))
        if rejected:
            self._lines.append(f"{rejected} customers rejected in this sync: no roll-ups written")
        self.rollups_planned += planned
        jobs = []
        for obj, items in by_object.items():
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                jobs.append(
                    Job(
                        [],
                        lambda o=obj, b=batch: self.writer.update_by_id(o, b),  # type: ignore[misc]
                        self._fold_rollups(obj, digests),
                    )
                )
        return jobs

    def _fold_rollups(
        self, obj: str, digests: Mapping[tuple[str, str], tuple[str, int]]
    ) -> Callable[[Outcome], Sequence[Job]]:
        def fold(outcome: Outcome) -> Sequence[Job]:
            self.rollups_written += len(outcome.written)
            if self.ledger is not None:
                for written in outcome.written:
                    lago_id, digest = digests[(obj, written.key)]
                    self.ledger.confirm(obj, lago_id, ROLLUP, written.key, digest)
            for rejected in outcome.rejected:
                self._refused("roll-ups of HubSpot record", rejected.key, rejected.message)
            return NO_JOBS

        return fold

    def _refused(self, what: str, key: str, reason: str) -> None:
        self.refusals += 1
        if self.refusals <= MAX_LOGGED_REFUSALS:
            logger.warning("HubSpot refused the %s %s: %s", what, key, reason)

    # -- the summary ----------------------------------------------------------------

    def summary(self) -> list[str]:
        """Lines for the sync summary (after finish's jobs were folded)."""
        if self.writer.dry_run:
            done, rollups = "planned", self.rollups_written + self.rollups_planned
        else:
            done, rollups = "written", self.rollups_written
        lines = [
            f"billing values {done}: roll-ups of {counted(rollups, 'customer', 'customers')}; "
            f"plan name, interval, amount and MRR added to "
            f"{counted(self.plan_updates, *_SUBSCRIPTION_WORDS)} that arrived before their plan; "
            f"{counted(self.links_made, *_LINK_WORDS)}; refused by HubSpot: {self.refusals}"
        ]
        if self.ledger is not None and self.ledger.has_previous:
            lines.append(
                f"billing values unchanged since the last sync (not written): {self.unchanged}"
            )
        if self.unknown_invoice_fees or self.unknown_subscription_fees:
            lines.append(
                f"fees naming an invoice not in HubSpot: {self.unknown_invoice_fees}; "
                f"naming a subscription not in HubSpot: {self.unknown_subscription_fees} "
                "(skipped by the status rules or rejected in this sync, or not found)"
            )
        return lines + self._lines

    def close(self) -> None:
        """Drop the on-disk link state and the aggregator's facts (idempotent; loop thread).
        After the last link batch and the roll-ups they are dropped already; this is for a
        sync that ended before (a fatal error)."""
        self.links.close()
        self.aggregator.close()


def _ids(writer: Writer, obj: str, lago_ids: list[str], id_property: str) -> dict[str, str]:
    """Lago id -> HubSpot id of the records HubSpot holds (``batch/read``, 100 per call)."""
    if not lago_ids:
        return {}
    return {k: str(r["id"]) for k, r in writer.read(obj, lago_ids, id_property).items()}


def _hubspot_id(end: End, read: str | None) -> str | None:
    """The end's HubSpot id: as this sync's upsert answered, else as read."""
    return end.hubspot_id if end.written else read


@dataclass
class _LinkBatch:
    """A batch of pairs resolved to HubSpot ids (by a worker, folded on the loop)."""

    known: list[tuple[str, str]] = field(default_factory=list)  # (invoice, subscription) ids
    invoice_of: dict[tuple[str | None, str | None], str] = field(default_factory=dict)
    # (invoice, subscription) HubSpot ids -> their Lago ids
    lago_pair: dict[tuple[str | None, str | None], tuple[str, str]] = field(default_factory=dict)
    planned: int = 0  # dry run: both ends in HubSpot or to be created, one without an id yet
    unknown_invoice_fees: int = 0  # fees whose invoice is neither written nor found
    unknown_subscription_fees: int = 0

    @classmethod
    def of(
        cls,
        rows: Sequence[LinkRow],
        found_invoices: Mapping[str, str],
        found_subs: Mapping[str, str],
    ) -> _LinkBatch:
        batch = cls()
        for row in rows:
            invoice_in = row.invoice_end.written or row.invoice in found_invoices
            subscription_in = row.subscription_end.written or row.subscription in found_subs
            if not invoice_in:
                batch.unknown_invoice_fees += row.fees
            if not subscription_in:
                batch.unknown_subscription_fees += row.fees
            if not (invoice_in and subscription_in):
                continue
            invoice = _hubspot_id(row.invoice_end, found_invoices.get(row.invoice))
            subscription = _hubspot_id(row.subscription_end, found_subs.get(row.subscription))
            batch.invoice_of[(invoice, subscription)] = row.invoice
            batch.lago_pair[(invoice, subscription)] = (row.invoice, row.subscription)
            if invoice is None or subscription is None:
                batch.planned += 1
            else:
                batch.known.append((invoice, subscription))
        return batch


def _link_key(invoice: str, subscription: str) -> str:
    """The ledger's Lago id of an invoice ↔ subscription link (docs/product.md §10)."""
    return f"{invoice}>{subscription}"


def _what_needs(stream: str) -> str:
    if stream == FEES:
        return "invoice-subscription associations"
    if stream == PLANS:
        return "plan values of subscriptions without a nested plan, and lago_mrr"
    return ", ".join(p for p, streams in ROLLUP_STREAMS.items() if stream in streams)
