"""Which HubSpot record each Lago customer is, and the associations waiting for it.

Owned by the message loop: sinks call in when an outcome is folded; the jobs it answers
do HTTP work only. An association needs both ends' HubSpot ids. A subscription or
invoice is written at once; its association waits until its customer's id is known —
from this sync's customer writes, or by reading HubSpot at the next checkpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from ..changes.ledger import Ledger
from ..hubspot.batches import AssociationOutcome, Writer
from .jobs import NO_JOBS, Job
from .report import SyncReport

CUSTOMER_OBJECTS = ("companies", "contacts")

# (record object, record HubSpot id, record Lago id, the association's digest in the previous
# ledger); HubSpot ids are None in a plan.
Waiting = tuple[str, str | None, str, int | None]


class Associations:
    def __init__(
        self,
        writer: Writer,
        report: SyncReport,
        batch_size: int,
        type_ids: Mapping[tuple[str, str], int] | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.writer = writer
        self.ledger = ledger  # docs/product.md §10: an association made already is not sent
        self.report = report
        # (record object, customer object) -> the association type id the deployment resolved
        self.type_ids = dict(type_ids or {})
        self.batch_size = batch_size
        # Lago customer id -> (HubSpot object key, HubSpot id)
        self._customers: dict[str, tuple[str, str | None]] = {}
        # Lago customer id -> records written and waiting for that customer's HubSpot id
        self._waiting: dict[str, list[Waiting]] = defaultdict(list)
        self._looked_up: set[str] = set()  # asked HubSpot already; not there (yet)
        # (record object, customer object) -> [(record id, customer id, record Lago id)]
        self._pending: dict[tuple[str, str], list[tuple[str | None, str | None, str]]] = (
            defaultdict(list)
        )
        self._full = False  # a pending list reached batch_size since the last batches were made

    # -- folded outcomes ------------------------------------------------------------

    def customer_written(self, lago_id: str, obj: str, hubspot_id: str | None) -> None:
        self._customers[lago_id] = (obj, hubspot_id)
        for record in self._waiting.pop(lago_id, ()):
            self._link(record, lago_id)

    def record_written(
        self,
        obj: str,
        hubspot_id: str | None,
        lago_id: str,
        customer_id: str | None,
        previous: int | None = None,
    ) -> None:
        """``previous``: the association's digest in the previous ledger (§10), if any."""
        if customer_id is None:
            self.report.missing_association(obj, lago_id, "it names no customer")
        else:
            self._link((obj, hubspot_id, lago_id, previous), customer_id)

    def _link(self, record: Waiting, customer_id: str) -> None:
        known = self._customers.get(customer_id)
        if known is None:
            self._waiting[customer_id].append(record)
            return
        obj, hubspot_id, lago_id, previous = record
        customer_obj, customer_hubspot_id = known
        if previous is not None and hubspot_id is not None:
            digest = Ledger.association_digest(hubspot_id, customer_obj, customer_hubspot_id)
            if digest == previous:  # §10: made by an earlier sync, between the same two ends
                self.report.unchanged_associations += 1
                return
        pairs = self._pending[(obj, customer_obj)]
        pairs.append((hubspot_id, customer_hubspot_id, lago_id))
        if len(pairs) >= self.batch_size:
            self._full = True

    # -- jobs -----------------------------------------------------------------------

    def full_batches(self) -> Sequence[Job]:
        """Association batches of a full size: sent as soon as they are. Called after every
        record: nothing to look at unless a list filled up since the last call."""
        if not self._full:
            return NO_JOBS
        return self._batches(only_full=True)

    def drain(self) -> Sequence[Job]:
        return self._batches(only_full=False)

    def _batches(self, only_full: bool) -> Sequence[Job]:
        self._full = False  # every list is shorter than a batch once this is done
        jobs: list[Job] = []
        for (obj, customer_obj), pairs in self._pending.items():
            while len(pairs) >= self.batch_size or (pairs and not only_full):
                batch = pairs[: self.batch_size]
                del pairs[: self.batch_size]
                jobs.append(self._associate(obj, customer_obj, batch))
        return jobs or NO_JOBS

    def _associate(
        self, obj: str, customer_obj: str, batch: list[tuple[str | None, str | None, str]]
    ) -> Job:
        pairs = [(record_id, customer_id) for record_id, customer_id, _ in batch]

        ledger = self.ledger

        def fold(outcome: AssociationOutcome) -> Sequence[Job]:
            self.report.associations += len(outcome.made)
            lago_ids = {(r, c): lago for r, c, lago in batch}
            if ledger is not None:
                for record_id, customer_id in outcome.made:
                    if record_id is None:
                        continue
                    digest = Ledger.association_digest(record_id, customer_obj, customer_id)
                    lago_id = lago_ids.get((record_id, customer_id), "?")
                    ledger.confirm_association(obj, lago_id, digest)
            for pair, reason in outcome.failed:
                self.report.reject_association(obj, lago_ids.get(pair, "?"), reason)
            return NO_JOBS

        type_id = self.type_ids.get((obj, customer_obj))
        return Job((), lambda: self.writer.associate(obj, customer_obj, pairs, type_id), fold)

    def lookup(self, final: bool) -> Sequence[Job]:
        """Find customers of waiting records in HubSpot (written by an earlier sync)."""
        unknown = [c for c in self._waiting if final or c not in self._looked_up]
        if not unknown:
            return NO_JOBS

        def work() -> dict[str, tuple[str, str]]:
            found: dict[str, tuple[str, str]] = {}
            for obj in CUSTOMER_OBJECTS:
                rest = [c for c in unknown if c not in found]
                if not rest:
                    break
                for lago_id, record in self.writer.read(obj, rest, "lago_customer_id").items():
                    found[lago_id] = (obj, str(record["id"]))
            return found

        def fold(found: dict[str, tuple[str, str]]) -> Sequence[Job]:
            for lago_id, (obj, hubspot_id) in found.items():
                self.customer_written(lago_id, obj, hubspot_id)
            self._looked_up.update(c for c in unknown if c not in found)
            return self.full_batches()

        return (Job((), work, fold),)

    def report_missing(self) -> None:
        """At the end: records whose customer is in neither HubSpot nor this sync."""
        for customer_id, records in self._waiting.items():
            for obj, _, lago_id, _ in records:
                self.report.missing_association(
                    obj, lago_id, f"customer {customer_id} is not in HubSpot nor in this sync"
                )
