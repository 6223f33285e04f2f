"""docs/product.md §8, the pure part: what a sync saw, the guards, and the records to mark.

``source-getlago`` asks Lago for subscriptions without ``status[]``, and Lago then lists only
active ones, so a terminated subscription simply stops arriving. After a complete
``subscriptions`` stream, a record HubSpot still shows ``active``, whose customer was in this
sync's customers stream and whose ``lago_subscription_id`` did not arrive, is set to
``terminated`` (and its MRR to 0 where §6 is deployed); nothing else of it changes.

Nothing here talks to HubSpot: :class:`SyncObservations` collects what the message loop saw,
:func:`stream_guard` and :func:`plan_terminations` decide, and :class:`TerminationOutcome` words the
summary line. ``hubspot_io.py`` reads and writes, ``job.py`` runs it all as jobs of the loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

Mode = Literal["reconcile", "always", "off"]

STATUS = "lago_subscription_status"
SUBSCRIPTION_ID = "lago_subscription_id"
CUSTOMER_ID = "lago_customer_id"
MRR = "lago_subscription_mrr"
ACTIVE, TERMINATED = "active", "terminated"

MASS_CHANGE_MIN = 10  # held back when more than this many records would change ...
MASS_CHANGE_PERCENT = 20  # ... and more than this share of the seen customers' active ones
SETTING = "terminated_subscriptions"
SUMMARY_IDS = 20  # Lago ids a dry run's summary line names (the log line names them all)


class Guard(StrEnum):
    """Why nothing was marked terminated in this sync."""

    OFF = "off"
    NOT_IN_CATALOG = "not_in_catalog"
    SWITCHED_OFF = "sync_subscriptions_off"
    INCOMPLETE = "incomplete"
    EMPTY = "empty"
    NOT_DEPLOYED = "not_deployed"  # no LagoSubscriptions object (e.g. a dry run's first sync)
    MASS_CHANGE = "mass_change"
    READ_FAILED = "read_failed"


@dataclass(frozen=True)
class StreamFacts:
    """What this sync knows about its ``subscriptions`` stream (docs/product.md §6 completeness).

    A sync that failed never gets here: the loop ends before its parts finish."""

    in_catalog: bool  # selected in the configured catalog
    enabled: bool  # sync_subscriptions is on
    complete: bool  # a STATE for the stream (or a global STATE) arrived after its last record
    records: int  # subscription records received
    unreadable_lines: int = 0  # input lines that were not messages (one may be a subscription)


@dataclass(frozen=True)
class ActiveRecord:
    """A LagoSubscriptions record HubSpot shows ``active``."""

    hubspot_id: str
    lago_subscription_id: str
    own_customer_id: str | None = None  # its own lago_customer_id property
    # lago_customer_id of the companies/contacts it is associated with (as far as read)
    associated_customer_ids: frozenset[str] = frozenset()

    @property
    def customer_id(self) -> str | None:
        """Its own property, else its one associated customer; None when it cannot be known."""
        if self.own_customer_id:
            return self.own_customer_id
        if len(self.associated_customer_ids) == 1:
            return next(iter(self.associated_customer_ids))
        return None


@dataclass(frozen=True)
class TerminationPlan:
    to_mark: tuple[ActiveRecord, ...] = ()
    guard: Guard | None = None
    message: str = ""
    active: int = 0  # records HubSpot shows active for the seen customers
    unknown_customer: int = 0  # active records left alone: customer cannot be known
    unseen_customer: int = 0  # active records left alone: customer not in this sync


@dataclass(frozen=True)
class SyncSeen:
    """What one sync saw, as §8 needs it, frozen once its input ended."""

    customers: frozenset[str]  # lago_id of every customer received
    subscriptions: frozenset[str]  # lago_id of every subscription received
    facts: StreamFacts
    # Seen customers whose existing record this sync updated: lago id -> (companies or
    # contacts, HubSpot id). Their ids came back from the writes: not looked up again.
    known: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Seen customers whose record this sync created (or a dry run would create): only this
    # sync's own associations, to subscriptions that arrived, can hang on it, so none is read.
    new: frozenset[str] = frozenset()
    new_active: int = 0  # their active subscriptions received: in the mass-change share
    # lago_customer_id -> active subscriptions received (docs/product.md §10: the share of the
    # customers not read because their subscriptions are as the last sync reconciled them)
    active_by_customer: Mapping[str, int] = field(default_factory=dict)
    # lago_customer_id -> a digest of the set of its subscriptions' Lago ids received (§10)
    subscription_sets: Mapping[str, int] = field(default_factory=dict)

    @property
    def to_read(self) -> frozenset[str]:
        """The seen customers whose subscriptions are read in HubSpot."""
        return self.customers - self.new


@dataclass
class SyncObservations:
    """What §8 needs from the message stream, fed by the message loop (one thread):
    ``record(kind, data)`` for every customers/subscriptions record (``kind`` as
    ``records.streams.stream_kind`` names it), ``customer_written`` for every customer write
    folded. Completeness is the loop's (``StreamFacts``)."""

    customers: set[str] = field(default_factory=set)  # lago_id of every customer received
    subscriptions: set[str] = field(default_factory=set)  # lago_id of every subscription
    subscription_records: int = 0
    # lago_customer_id -> active subscriptions received for it (the mass-change guard's
    # share for customers whose records are not read, see SyncSeen.new_active)
    active_by_customer: dict[str, int] = field(default_factory=dict)
    updated_customers: dict[str, tuple[str, str]] = field(default_factory=dict)
    created_customers: set[str] = field(default_factory=set)
    # lago_customer_id -> the sum (mod 2**64) of its subscriptions' hashed Lago ids: the same
    # set gives the same sum in any order (a subscription sent twice counts once)
    subscription_sets: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str | None, data: Any) -> None:
        lago_id = data.get("lago_id") if isinstance(data, Mapping) else None
        if kind == "customers" and lago_id:
            self.customers.add(str(lago_id))
        elif kind == "subscriptions":
            self.subscription_records += 1
            if lago_id:
                customer = data.get("lago_customer_id")
                if customer and str(lago_id) not in self.subscriptions:
                    key = str(customer)
                    total = self.subscription_sets.get(key, 0) + _hashed(str(lago_id))
                    self.subscription_sets[key] = total % 2**64
                self.subscriptions.add(str(lago_id))
                if customer and str(data.get("status") or "").lower() == ACTIVE:
                    key = str(customer)
                    self.active_by_customer[key] = self.active_by_customer.get(key, 0) + 1

    def customer_written(
        self, lago_id: str, obj: str, hubspot_id: str | None, created: bool
    ) -> None:
        """``obj``: companies or contacts; a dry run's records to create have no HubSpot id
        and are new all the same. A customer's last write decides."""
        if created or hubspot_id is None:
            self.created_customers.add(lago_id)
            self.updated_customers.pop(lago_id, None)
        else:
            self.updated_customers[lago_id] = (obj, hubspot_id)
            self.created_customers.discard(lago_id)

    def seen(self, facts: StreamFacts) -> SyncSeen:
        new = frozenset(self.created_customers)
        return SyncSeen(
            customers=frozenset(self.customers),
            subscriptions=frozenset(self.subscriptions),
            facts=facts,
            known=dict(self.updated_customers),
            new=new,
            new_active=sum(self.active_by_customer.get(c, 0) for c in new),
            active_by_customer=self.active_by_customer,
            subscription_sets=self.subscription_sets,
        )


def _hashed(lago_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(lago_id.encode(), digest_size=8).digest(), "big")


def stream_guard(facts: StreamFacts, mode: Mode) -> tuple[Guard, str] | None:
    """The guard that stops reconciliation before anything is read, if any."""
    if mode == "off":
        return Guard.OFF, f"{SETTING} is off"
    if not facts.in_catalog:
        return Guard.NOT_IN_CATALOG, "the subscriptions stream is not in the catalog"
    if not facts.enabled:
        return Guard.SWITCHED_OFF, "sync_subscriptions is off"
    if facts.unreadable_lines:
        return Guard.INCOMPLETE, (
            f"{facts.unreadable_lines} input line(s) could not be read, so the subscriptions "
            "stream cannot be known complete"
        )
    if not facts.complete:
        return Guard.INCOMPLETE, (
            "the subscriptions stream was not received completely (no STATE after its records)"
        )
    if facts.records <= 0:
        return Guard.EMPTY, "the subscriptions stream was empty"
    return None


def plan_terminations(
    records: Iterable[ActiveRecord],
    seen_customers: Collection[str],
    arrived: Collection[str],
    facts: StreamFacts,
    mode: Mode,
    active_not_read: int = 0,
) -> TerminationPlan:
    """The records to mark terminated, or the guard that holds the change back.

    ``active_not_read``: active subscriptions of seen customers that were not read because
    nothing can be marked among them (customers this sync created); they count in the
    mass-change guard's share like the records read."""
    stopped = stream_guard(facts, mode)
    if stopped is not None:
        return TerminationPlan(guard=stopped[0], message=stopped[1])
    seen, arrived_ids = set(seen_customers), set(arrived)
    unique = {r.hubspot_id: r for r in records}
    active: list[ActiveRecord] = []
    unknown = unseen = 0
    for rec in unique.values():
        customer = rec.customer_id
        if customer is None:
            unknown += 1
        elif customer not in seen:
            unseen += 1
        else:
            active.append(rec)
    to_mark = tuple(
        sorted(
            (r for r in active if r.lago_subscription_id not in arrived_ids),
            key=lambda r: r.lago_subscription_id,
        )
    )
    total = len(active) + active_not_read
    counted = TerminationPlan(active=total, unknown_customer=unknown, unseen_customer=unseen)
    if (
        mode != "always"
        and len(to_mark) > MASS_CHANGE_MIN
        and len(to_mark) * 100 > MASS_CHANGE_PERCENT * total
    ):
        message = (
            f"{len(to_mark)} of the {total} LagoSubscriptions records HubSpot shows active "
            f"for this sync's customers did not arrive ({100 * len(to_mark) / total:.0f} %); "
            f"changing more than {MASS_CHANGE_MIN} and more than {MASS_CHANGE_PERCENT} % at once "
            f"looks like a source problem, so none was marked terminated. If these subscriptions "
            f"really ended, set '{SETTING}: always' for one sync."
        )
        return replace(counted, guard=Guard.MASS_CHANGE, message=message)
    return replace(counted, to_mark=to_mark)


@dataclass
class TerminationOutcome:
    """What reconciliation did in this sync; :meth:`summary_line` goes into the sync summary.

    ``dry_run`` only words it: the writer decided what was written (a dry run's writes
    nothing, and answers what it would mark)."""

    dry_run: bool = False
    guard: Guard | None = None
    message: str = ""
    plan: TerminationPlan | None = None
    marked: list[str] = field(default_factory=list)  # lago_subscription_id
    would_mark: list[str] = field(default_factory=list)  # a dry run's
    refused: list[tuple[str, str]] = field(default_factory=list)  # (lago id, HubSpot's why)

    def summary_line(self) -> str:
        head = "terminated subscriptions:"
        if self.guard is not None:
            return f"{head} 0 marked; held back: {self.guard.value} ({self.message})"
        if self.dry_run:
            ids = ", ".join(self.would_mark[:SUMMARY_IDS]) or "none"
            more = len(self.would_mark) - SUMMARY_IDS
            ids += f" and {more} more, listed in the log above" if more > 0 else ""
            line = f"{head} would mark {len(self.would_mark)} ({ids})"
        else:
            line = f"{head} {len(self.marked)} marked"
        if self.refused:
            line += f"; {len(self.refused)} refused by HubSpot"
        return line
