"""docs/product.md §8 in the write pipeline: what the loop observes, and the one post-sync job.

The message loop calls :meth:`Reconciliation.observe` for every record of a stream it writes
(on the loop thread) and, after the final checkpoint, submits :meth:`Reconciliation.job`.
The job's ``work`` runs :func:`reconcile.reconcile_terminated` on a worker with frozen copies
of what was observed; its ``fold`` puts the outcome's line into the report on the loop thread.

Completeness is the loop's own (``WritePipeline.completed_streams``, the definition §6's
roll-ups use too): every ``subscriptions`` stream of the sync covered by a STATE after its last
record. The job is never submitted after a fatal error (the loop ends first), so the
``failed`` guard holds by construction; unreadable input lines also hold it back, since one of
them may have been a subscription.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from airbyte_protocol_dataclasses.models import ConfiguredAirbyteCatalog

from ..config import DestinationConfig
from ..hubspot import HubSpotClient
from ..portal.deployment import Deployment
from ..portal.model import MODEL
from ..records.streams import CUSTOMERS, SUBSCRIPTIONS, stream_kind
from ..sync.jobs import NO_JOBS, Job, StreamKey
from ..sync.parts import SyncEnd, SyncPart
from . import reconcile


class Reconciliation(SyncPart):
    """docs/product.md §8 as a sync part: observations of one sync, and the job that
    reconciles after it."""

    def __init__(
        self,
        config: DestinationConfig,
        client: HubSpotClient,
        deployment: Deployment,
        catalog: ConfiguredAirbyteCatalog | None,
    ) -> None:
        self.config = config
        self.client = client
        self.subscriptions_type_id = deployment.object_type_ids.get(SUBSCRIPTIONS)
        self.catalog_streams: frozenset[StreamKey] | None = (
            None
            if catalog is None
            else frozenset((c.stream.namespace, c.stream.name) for c in catalog.streams)
        )
        self.observed = reconcile.SyncObservations()
        # Customers this sync wrote: lago id -> (type id, HubSpot id) of records that existed
        # before, and the lago ids of records it created (see reconcile_terminated).
        self.updated_customers: dict[str, tuple[str, str]] = {}
        self.created_customers: set[str] = set()
        self._summary: list[str] = []

    def record(self, kind: str, data: Mapping[str, Any]) -> None:
        """A record of a stream this sync consumes (``kind`` as its sink names it)."""
        if kind in (CUSTOMERS, SUBSCRIPTIONS):
            self.observed.record(kind, data)

    def customer_written(
        self, lago_id: str, obj: str, hubspot_id: str | None, created: bool
    ) -> None:
        """A customer's write was folded (``obj``: companies or contacts); a dry run's
        records to create have no HubSpot id and are new all the same."""
        if created or hubspot_id is None:
            self.created_customers.add(lago_id)
            self.updated_customers.pop(lago_id, None)
        else:
            type_id = reconcile.COMPANIES if obj == "companies" else reconcile.CONTACTS
            self.updated_customers[lago_id] = (type_id, hubspot_id)
            self.created_customers.discard(lago_id)

    def facts(
        self,
        completed: Collection[StreamKey],
        streams: Collection[StreamKey],
        unreadable_lines: int = 0,
    ) -> reconcile.StreamFacts:
        """``streams``: every stream of this sync (catalog and seen); ``completed``: those a
        STATE covered after their last record."""
        catalog = self.catalog_streams if self.catalog_streams is not None else streams
        subscription_streams = [s for s in streams if stream_kind(s[1]) == SUBSCRIPTIONS]
        return reconcile.StreamFacts(
            in_catalog=any(stream_kind(s[1]) == SUBSCRIPTIONS for s in catalog),
            enabled=self.config.sync_subscriptions,
            complete=bool(subscription_streams)
            and all(s in completed for s in subscription_streams),
            records=self.observed.subscription_records,
            unreadable_lines=unreadable_lines,
        )

    def finish(self, end: SyncEnd) -> Sequence[Job]:
        """The post-sync job: HubSpot reads and writes on a worker, the outcome folded here."""
        facts = self.facts(end.completed, end.streams, end.unreadable_lines)
        seen = frozenset(self.observed.customers)
        arrived = frozenset(self.observed.subscriptions)
        known = dict(self.updated_customers)
        new = frozenset(self.created_customers)
        new_active = sum(self.observed.active_by_customer.get(c, 0) for c in new)
        client, config, type_id = self.client, self.config, self.subscriptions_type_id
        zero_mrr = any(p.name == reconcile.MRR for p in MODEL.subscriptions.properties)

        def work() -> reconcile.Outcome:
            return reconcile.reconcile_terminated(
                client,
                subscriptions_type_id=type_id,
                seen_customers=seen,
                arrived_subscriptions=arrived,
                facts=facts,
                mode=config.terminated_subscriptions,
                dry_run=config.dry_run,
                zero_mrr=zero_mrr,
                known_customers=known,
                new_customers=new,
                new_customers_active=new_active,
            )

        return (Job((), work, self._fold),)

    def _fold(self, outcome: reconcile.Outcome) -> Sequence[Job]:
        self._summary.append(outcome.summary_line())
        return NO_JOBS

    def summary(self) -> list[str]:
        return list(self._summary)
