"""docs/product.md §8's HubSpot calls, each the work of one job: one batch of ≤ 100 inputs.

Every call goes through the sync's :class:`~destination_hubspot_lago.hubspot.batches.Writer`,
so a dry run's writer (``DryRunWriter``) answers the marking without writing. The reads are
strongly consistent, never search (eventually consistent, its own 5 requests/s budget, capped
at 10,000 results, and blind to records written before the subscription's own
``lago_customer_id`` existed):

1. :func:`customer_records` — the seen customers' companies or contacts by
   ``lago_customer_id`` (``batch/read``);
2. :func:`subscription_links` — their associations to LagoSubscriptions, one page per input
   (v4 ``batch/read``; the answer says which inputs have more pages);
3. :func:`active_subscriptions` — those records by HubSpot id (``batch/read``);
4. :func:`mark_terminated` — ``batch/update`` by HubSpot id of the status (and MRR 0), where a
   refusal, of a record or of the whole call, is an answer, never raised.

The reads raise :class:`~destination_hubspot_lago.hubspot.HubSpotError`; ``job.py`` turns it
into the ``read_failed`` guard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ..hubspot import HubSpotError
from ..hubspot.batches import MAX_INPUTS, AssociatedPage, Item, Writer
from .plan import ACTIVE, CUSTOMER_ID, MRR, STATUS, SUBSCRIPTION_ID, TERMINATED, ActiveRecord

BATCH = MAX_INPUTS  # inputs per call, and so per job
CUSTOMER_OBJECTS = ("companies", "contacts")  # where a Lago customer may be (docs/product.md §2)
LAGO_SUBSCRIPTIONS = "subscriptions"  # the writer's key of LagoSubscriptions


def customer_records(writer: Writer, obj: str, lago_ids: Sequence[str]) -> dict[str, str]:
    """HubSpot id -> lago_customer_id of those of ``lago_ids`` that exist as ``obj``."""
    wanted = {c.casefold(): c for c in lago_ids}
    found: dict[str, str] = {}
    for value, record in writer.read(obj, lago_ids, CUSTOMER_ID).items():
        lago_id = wanted.get(value.casefold())  # HubSpot compares unique values case-blind
        if lago_id is not None and record.get("id") is not None:
            found[str(record["id"])] = lago_id
    return found


def subscription_links(
    writer: Writer, obj: str, inputs: Sequence[tuple[str, str | None]]
) -> AssociatedPage:
    """One page of the LagoSubscriptions each ``obj`` record is associated with; an input is
    (its HubSpot id, the cursor of the page to read, None for the first)."""
    return writer.read_associations(obj, LAGO_SUBSCRIPTIONS, inputs)


def active_subscriptions(writer: Writer, hubspot_ids: Sequence[str]) -> list[ActiveRecord]:
    """Those of the records that HubSpot shows ``active`` (their associations not read here)."""
    # lago_customer_id may not exist on older models: HubSpot leaves unknown names out of reads.
    wanted = (STATUS, SUBSCRIPTION_ID, CUSTOMER_ID)
    found = writer.read(LAGO_SUBSCRIPTIONS, hubspot_ids, None, wanted)
    active = []
    for hubspot_id, record in found.items():
        props = record.get("properties") or {}
        lago_id = str(props.get(SUBSCRIPTION_ID) or "")
        if hubspot_id and lago_id and props.get(STATUS) == ACTIVE:
            own = str(props.get(CUSTOMER_ID) or "") or None
            active.append(ActiveRecord(hubspot_id, lago_id, own))
    return active


@dataclass
class Marked:
    """What HubSpot (or, in a dry run, the plan) answered for a batch to mark."""

    marked: list[str] = field(default_factory=list)  # lago_subscription_id
    refused: list[tuple[str, str]] = field(default_factory=list)  # (lago_subscription_id, why)


def terminated_properties(zero_mrr: bool) -> Mapping[str, str]:
    """All that marking changes: the status, and the MRR where §6 deployed it."""
    return MappingProxyType({STATUS: TERMINATED, **({MRR: "0"} if zero_mrr else {})})


def mark_terminated(
    writer: Writer, records: Sequence[ActiveRecord], properties: Mapping[str, str]
) -> Marked:
    """``batch/update`` by HubSpot id, only ``properties``; never creates, never raises for
    HubSpot's answer (a whole call refused refuses each of its records)."""
    lago_ids = {r.hubspot_id: r.lago_subscription_id for r in records}
    items = [Item(r.hubspot_id, dict(properties)) for r in records]
    try:
        outcome = writer.update_by_id(LAGO_SUBSCRIPTIONS, items)
    except HubSpotError as error:
        return Marked(refused=[(r.lago_subscription_id, str(error)) for r in records])
    result = Marked(marked=[lago_ids[w.key] for w in outcome.written if w.key in lago_ids])
    result.refused = [
        (lago_ids[r.key], f"{r.category}: {r.message}".strip())
        for r in outcome.rejected
        if r.key in lago_ids
    ]
    return result
