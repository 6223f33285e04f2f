"""docs/product.md §8: LagoSubscriptions records that left Lago's active list become terminated.

``source-getlago`` asks Lago for subscriptions without ``status[]``, and Lago then lists only
active ones, so a terminated subscription simply stops arriving. After a complete
``subscriptions`` stream, a record HubSpot still shows ``active``, whose customer was in this
sync's customers stream and whose ``lago_subscription_id`` did not arrive, is set to
``terminated`` (and its MRR to 0 where §6 is deployed); nothing else of it changes.

Three parts with one job each, and :func:`reconcile_terminated` that runs them in order:

* :func:`plan_terminations` is pure: the guards and the choice of records.
* :func:`read_active_subscriptions` reads HubSpot with strongly consistent calls only: the seen
  customers' companies/contacts by ``lago_customer_id`` (``batch/read``), their associations
  to LagoSubscriptions (v4 ``batch/read``), then those records (``batch/read`` by id). Search
  is not used: it is eventually consistent, has its own 5 requests/s budget without rate-limit
  headers, caps a query at 10,000 results, and cannot find records written before the
  subscription's own ``lago_customer_id`` property existed (ARCHITECTURE.md).
* :func:`mark_terminated` writes ``batch/update`` by HubSpot id, ≤ 100 per call; a refusal is
  reported, never fatal.

The write pipeline (``terminations/job.py``) feeds :class:`SyncObservations` one
``record`` per customers/subscriptions record and, once the input ended without a fatal error
and the last STATE was echoed, runs :func:`reconcile_terminated` as a post-sync job with the
loop's own completeness (``WritePipeline.completed_streams``) and puts
``Outcome.summary_line()`` into the sync summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import Any, Literal, TypeVar

from ..hubspot import HubSpotError

logger = logging.getLogger("airbyte")

Mode = Literal["reconcile", "always", "off"]

COMPANIES, CONTACTS = "0-2", "0-1"
STATUS = "lago_subscription_status"
SUBSCRIPTION_ID = "lago_subscription_id"
CUSTOMER_ID = "lago_customer_id"
MRR = "lago_subscription_mrr"
ACTIVE, TERMINATED = "active", "terminated"

BATCH = 100  # inputs per batch/read and batch/update
MASS_CHANGE_MIN = 10  # held back when more than this many records would change ...
MASS_CHANGE_PERCENT = 20  # ... and more than this share of the seen customers' active ones
SETTING = "terminated_subscriptions"
READ_WORKERS = 4
SUMMARY_IDS = 20  # Lago ids a dry run's summary line names (the log line names them all)


# -- HubSpot paths (the client's API version; hubspot/api.py builds them) --------------------


def _objects_batch_path(client: Any, type_id: str, verb: str) -> str:
    return str(client.paths.objects(type_id, f"batch/{verb}"))


def _associations_read_path(client: Any, from_type: str, to_type: str) -> str:
    return str(client.paths.associations(from_type, to_type, "batch/read"))


# -- the plan (pure) ---------------------------------------------------------------------------


class Guard(StrEnum):
    """Why nothing was marked terminated in this sync."""

    OFF = "off"
    NOT_IN_CATALOG = "not_in_catalog"
    SWITCHED_OFF = "sync_subscriptions_off"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    EMPTY = "empty"
    NOT_DEPLOYED = "not_deployed"  # no LagoSubscriptions object (e.g. a dry run's first sync)
    MASS_CHANGE = "mass_change"
    READ_FAILED = "read_failed"


@dataclass(frozen=True)
class StreamFacts:
    """What this sync knows about its ``subscriptions`` stream (docs/product.md §6 completeness)."""

    in_catalog: bool  # selected in the configured catalog
    enabled: bool  # sync_subscriptions is on
    complete: bool  # a STATE for the stream (or a global STATE) arrived after its last record
    records: int  # subscription records received
    failed: bool = False  # a fatal error happened in this sync
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
class Plan:
    to_mark: tuple[ActiveRecord, ...] = ()
    guard: Guard | None = None
    message: str = ""
    active: int = 0  # records HubSpot shows active for the seen customers
    unknown_customer: int = 0  # active records left alone: customer cannot be known
    unseen_customer: int = 0  # active records left alone: customer not in this sync


@dataclass
class SyncObservations:
    """What §8 needs from the message stream, fed by the message loop (one thread):
    ``record(kind, data)`` for every customers/subscriptions record (``kind`` as
    ``pipeline.stream_kind`` names it). Completeness is the loop's (``StreamFacts``)."""

    customers: set[str] = field(default_factory=set)  # lago_id of every customer received
    subscriptions: set[str] = field(default_factory=set)  # lago_id of every subscription
    subscription_records: int = 0
    # lago_customer_id -> active subscriptions received for it (the mass-change guard's
    # share for customers whose records are not read, see reconcile_terminated)
    active_by_customer: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str | None, data: Any) -> None:
        lago_id = data.get("lago_id") if isinstance(data, Mapping) else None
        if kind == "customers" and lago_id:
            self.customers.add(str(lago_id))
        elif kind == "subscriptions":
            self.subscription_records += 1
            if lago_id:
                self.subscriptions.add(str(lago_id))
                customer = data.get("lago_customer_id")
                if customer and str(data.get("status") or "").lower() == ACTIVE:
                    key = str(customer)
                    self.active_by_customer[key] = self.active_by_customer.get(key, 0) + 1


def stream_guard(facts: StreamFacts, mode: Mode) -> tuple[Guard, str] | None:
    """The guard that stops reconciliation before anything is read, if any."""
    if mode == "off":
        return Guard.OFF, f"{SETTING} is off"
    if not facts.in_catalog:
        return Guard.NOT_IN_CATALOG, "the subscriptions stream is not in the catalog"
    if not facts.enabled:
        return Guard.SWITCHED_OFF, "sync_subscriptions is off"
    if facts.failed:
        return Guard.FAILED, "the sync failed"
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
) -> Plan:
    """The records to mark terminated, or the guard that holds the change back.

    ``active_not_read``: active subscriptions of seen customers that were not read because
    nothing can be marked among them (customers this sync created); they count in the
    mass-change guard's share like the records read."""
    stopped = stream_guard(facts, mode)
    if stopped is not None:
        return Plan(guard=stopped[0], message=stopped[1])
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
    counted = Plan(active=total, unknown_customer=unknown, unseen_customer=unseen)
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


# -- reading HubSpot ---------------------------------------------------------------------------

T = TypeVar("T")
R = TypeVar("R")


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _parallel(work: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``work`` over ``items`` on a few threads; results in order (threads share no state)."""
    batch = list(items)
    if workers <= 1 or len(batch) <= 1:
        return [work(item) for item in batch]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile") as pool:
        return list(pool.map(work, batch))


def _post_read(client: Any, path: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A batch read's results; HubSpot answers 404 when none of the inputs exists."""
    try:
        answer = client.post(path, body)
    except HubSpotError as error:
        if error.status == 404:
            return []
        raise
    results = (answer or {}).get("results") or []
    return [r for r in results if isinstance(r, dict)]


def _customer_records(client: Any, type_id: str, customer_ids: Sequence[str]) -> dict[str, str]:
    """HubSpot id -> lago_customer_id for those of ``customer_ids`` that exist as ``type_id``."""
    found: dict[str, str] = {}
    wanted = {c.casefold(): c for c in customer_ids}
    # propertiesWithHistory is required by the spec (empty: no history wanted)
    body = {"idProperty": CUSTOMER_ID, "properties": [CUSTOMER_ID], "propertiesWithHistory": []}
    for result in _post_read(
        client,
        _objects_batch_path(client, type_id, "read"),
        {**body, "inputs": [{"id": c} for c in customer_ids]},
    ):
        value = str((result.get("properties") or {}).get(CUSTOMER_ID) or "")
        if value.casefold() in wanted and result.get("id") is not None:
            found[str(result["id"])] = wanted[value.casefold()]
    return found


def _associated(
    client: Any, from_type: str, to_type: str, ids: Sequence[str], workers: int = 1
) -> dict[str, set[str]]:
    """from id -> ids of the ``to_type`` records it is associated with (every page); batches
    of 100 ids read on ``workers`` threads, each following its own pages."""
    linked: dict[str, set[str]] = {}
    for part in _parallel(
        partial(_associated_batch, client, from_type, to_type), _chunks(ids), workers
    ):
        for from_id, targets in part.items():
            linked.setdefault(from_id, set()).update(targets)
    return linked


def _associated_batch(
    client: Any, from_type: str, to_type: str, ids: Sequence[str]
) -> dict[str, set[str]]:
    linked: dict[str, set[str]] = {}
    pending: list[dict[str, str]] = [{"id": i} for i in ids]
    path = _associations_read_path(client, from_type, to_type)
    while pending:
        inputs, pending = pending[:BATCH], pending[BATCH:]
        for result in _post_read(client, path, {"inputs": inputs}):
            from_id = str((result.get("from") or {}).get("id") or "")
            targets = linked.setdefault(from_id, set())
            for to in result.get("to") or []:
                if isinstance(to, dict) and to.get("toObjectId") is not None:
                    targets.add(str(to["toObjectId"]))
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if from_id and after:
                pending.append({"id": from_id, "after": str(after)})
    return linked


def _subscription_records(client: Any, type_id: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    # lago_customer_id may not exist on older models: HubSpot leaves unknown names out of reads.
    return _post_read(
        client,
        _objects_batch_path(client, type_id, "read"),
        {
            "properties": [STATUS, SUBSCRIPTION_ID, CUSTOMER_ID],
            "propertiesWithHistory": [],
            "inputs": [{"id": i} for i in ids],
        },
    )


def read_active_subscriptions(
    client: Any,
    subscriptions_type_id: str,
    seen_customers: Collection[str],
    customer_type_ids: Sequence[str] = (COMPANIES, CONTACTS),
    *,
    workers: int = READ_WORKERS,
    known: Mapping[str, tuple[str, str]] | None = None,
) -> list[ActiveRecord]:
    """The LagoSubscriptions records HubSpot shows active that are associated with a seen customer.

    ``client`` needs only ``post(path, body)`` returning the parsed JSON (or raising
    :class:`HubSpotError`). Every call is strongly consistent: what a sync just wrote is read.
    ``known``: lago_customer_id -> (customer type id, HubSpot id) of seen customers whose
    record this sync's own writes answered; only the others are looked up by
    ``lago_customer_id``.
    """
    known = known or {}
    customers = sorted(set(seen_customers) - set(known))
    associated: dict[str, set[str]] = {}  # subscription HubSpot id -> seen lago_customer_ids
    for type_id in customer_type_ids:
        found: dict[str, str] = {
            hubspot_id: lago_id
            for lago_id, (owner_type, hubspot_id) in known.items()
            if owner_type == type_id
        }
        for found_part in _parallel(
            partial(_customer_records, client, type_id), _chunks(customers), workers
        ):
            found.update(found_part)
        if not found:
            continue
        links = _associated(client, type_id, subscriptions_type_id, sorted(found), workers)
        for customer_hubspot_id, subscription_ids in links.items():
            customer = found.get(customer_hubspot_id)
            if customer is None:  # not one of the inputs: nothing to attribute
                continue
            for sub_id in subscription_ids:
                associated.setdefault(sub_id, set()).add(customer)
    ids = sorted(associated, key=lambda i: (len(i), i))
    records: list[ActiveRecord] = []
    for read_part in _parallel(
        partial(_subscription_records, client, subscriptions_type_id), _chunks(ids), workers
    ):
        for result in read_part:
            props = result.get("properties") or {}
            hubspot_id = str(result.get("id") or "")
            sub_id = str(props.get(SUBSCRIPTION_ID) or "")
            if not hubspot_id or not sub_id or props.get(STATUS) != ACTIVE:
                continue
            own = str(props.get(CUSTOMER_ID) or "") or None
            records.append(
                ActiveRecord(hubspot_id, sub_id, own, frozenset(associated.get(hubspot_id, ())))
            )
    return records


# -- writing HubSpot ---------------------------------------------------------------------------


@dataclass
class MarkResult:
    marked: list[str] = field(default_factory=list)  # lago_subscription_id
    refused: list[tuple[str, str]] = field(default_factory=list)  # (lago_subscription_id, why)


def _update_chunk(
    client: Any, type_id: str, chunk: Sequence[ActiveRecord], properties: Mapping[str, str]
) -> MarkResult:
    by_id = {r.hubspot_id: r.lago_subscription_id for r in chunk}
    inputs = [{"id": r.hubspot_id, "properties": dict(properties)} for r in chunk]
    result = MarkResult()
    try:
        answer = (
            client.post(_objects_batch_path(client, type_id, "update"), {"inputs": inputs}) or {}
        )
    except HubSpotError as error:
        result.refused = [(r.lago_subscription_id, str(error)) for r in chunk]
        return result
    done = {str(r.get("id")) for r in answer.get("results") or [] if isinstance(r, dict)}
    reasons: dict[str, str] = {}
    for err in answer.get("errors") or []:
        if not isinstance(err, dict):
            continue
        context = err.get("context") or {}
        named = [str(i) for key in ("ids", "id") for i in (context.get(key) or [])]
        for ident in named:
            reasons[ident] = f"{err.get('category', 'ERROR')}: {err.get('message', '')}".strip()
    for hubspot_id, lago_id in by_id.items():
        if hubspot_id in done:
            result.marked.append(lago_id)
        else:
            why = reasons.get(hubspot_id, "HubSpot did not confirm the update")
            result.refused.append((lago_id, why))
    return result


def mark_terminated(
    client: Any,
    subscriptions_type_id: str,
    records: Sequence[ActiveRecord],
    *,
    zero_mrr: bool = False,
    workers: int = READ_WORKERS,
) -> MarkResult:
    """Set ``lago_subscription_status`` = terminated (and MRR 0 when ``zero_mrr``), ≤ 100 per call.

    Only those properties are sent, by HubSpot id. A refusal (a whole call or one record) is
    reported in the result, never raised.
    """
    properties = {STATUS: TERMINATED, **({MRR: "0"} if zero_mrr else {})}
    total = MarkResult()
    for part in _parallel(
        partial(_update_chunk, client, subscriptions_type_id, properties=properties),
        _chunks(list(records)),
        workers,
    ):
        total.marked += part.marked
        total.refused += part.refused
    return total


# -- the whole step ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What reconciliation did in this sync; :meth:`summary_line` goes into the sync summary."""

    dry_run: bool = False
    guard: Guard | None = None
    message: str = ""
    plan: Plan | None = None
    marked: list[str] = field(default_factory=list)
    would_mark: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    # lago_customer_id of each marked (or, in a dry run, to-be-marked) record: roll-ups follow
    customers: set[str] = field(default_factory=set)

    def summary_line(self) -> str:
        head = "terminated subscriptions:"
        if self.guard is not None:
            return f"{head} 0 marked; held back: {self.guard.value} ({self.message})"
        if self.dry_run:
            ids = ", ".join(self.would_mark[:SUMMARY_IDS]) or "none"
            more = len(self.would_mark) - SUMMARY_IDS
            ids += f" and {more} more, listed in the log above" if more > 0 else ""
            return f"{head} would mark {len(self.would_mark)} ({ids})"
        line = f"{head} {len(self.marked)} marked"
        if self.refused:
            line += f"; {len(self.refused)} refused by HubSpot"
        return line


def reconcile_terminated(
    client: Any,
    *,
    subscriptions_type_id: str | None,
    seen_customers: Collection[str],
    arrived_subscriptions: Collection[str],
    facts: StreamFacts,
    mode: Mode,
    dry_run: bool = False,
    zero_mrr: bool = False,
    customer_type_ids: Sequence[str] = (COMPANIES, CONTACTS),
    known_customers: Mapping[str, tuple[str, str]] | None = None,
    new_customers: Collection[str] = frozenset(),
    new_customers_active: int = 0,
) -> Outcome:
    """Run §8 once, after the input ended; never raises for HubSpot's answers.

    ``known_customers`` (lago id -> (type id, HubSpot id)): seen customers whose existing
    record this sync updated, not looked up again. ``new_customers``: seen customers whose
    record this sync created; nothing but this sync's own associations (subscriptions that
    arrived) can hang on such a record, so none is read, and ``new_customers_active`` (their
    active subscriptions that arrived) counts in the mass-change guard's share.

    Logs a WARN when a guard other than the stream's own state holds the change back (mass
    change, HubSpot read failure) and one line per refused update; in a dry run, the Lago
    subscription ids it would mark.
    """
    outcome = Outcome(dry_run=dry_run)
    stopped = stream_guard(facts, mode)
    if stopped is None and not subscriptions_type_id:
        stopped = (Guard.NOT_DEPLOYED, "the LagoSubscriptions object is not deployed")
    if stopped is not None:
        outcome.guard, outcome.message = stopped
        return outcome
    assert subscriptions_type_id is not None
    to_read = set(seen_customers) - set(new_customers)
    try:
        records = (
            read_active_subscriptions(
                client,
                subscriptions_type_id,
                to_read,
                customer_type_ids,
                known={k: v for k, v in (known_customers or {}).items() if k in to_read},
            )
            if to_read
            else []
        )
    except HubSpotError as error:
        outcome.guard, outcome.message = Guard.READ_FAILED, f"reading HubSpot failed: {error}"
        logger.warning("Terminated subscriptions not reconciled: %s", outcome.message)
        return outcome
    plan = plan_terminations(
        records, seen_customers, arrived_subscriptions, facts, mode, new_customers_active
    )
    outcome.plan = plan
    if plan.guard is not None:
        outcome.guard, outcome.message = plan.guard, plan.message
        logger.warning("Terminated subscriptions held back: %s", plan.message)
        return outcome
    if dry_run:
        outcome.would_mark = [r.lago_subscription_id for r in plan.to_mark]
        outcome.customers = {c for r in plan.to_mark if (c := r.customer_id)}
        if outcome.would_mark:
            logger.info(
                "Dry run: would mark %d LagoSubscriptions terminated: %s",
                len(outcome.would_mark),
                ", ".join(outcome.would_mark),
            )
        return outcome
    if plan.to_mark:
        result = mark_terminated(client, subscriptions_type_id, plan.to_mark, zero_mrr=zero_mrr)
        outcome.marked, outcome.refused = result.marked, result.refused
        done = set(result.marked)
        outcome.customers = {
            c for r in plan.to_mark if r.lago_subscription_id in done and (c := r.customer_id)
        }
        for lago_id, why in result.refused:
            logger.error("Marking subscription %s terminated was refused: %s", lago_id, why)
        if result.marked:
            logger.info(
                "Marked %d LagoSubscriptions terminated (no longer listed by Lago): %s",
                len(result.marked),
                ", ".join(result.marked),
            )
    return outcome
