"""One sink per stream: everything a stream needs, in one place.

A sink maps and buffers its stream's records (``process_record``), turns full buffers
into jobs, hands over whatever it still holds on ``drain``, and folds its jobs'
outcomes into the report and the associations. It never sees a STATE message nor a
thread: the loop calls it on the message loop thread only, and runs its jobs' ``work``
on the workers.

A stream added later is one more :class:`Sink` subclass registered in :data:`SINKS`
(a sink may also consume records without writing any, feeding aggregates instead, and
answer jobs from :meth:`Sink.finish` once the sync's checkpoints are done).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..airbyte.incoming import RecordData, unreadable_line
from ..changes.ledger import RECORD, Ledger, Previous, confirms
from ..config import DestinationConfig
from ..hubspot.batches import Item, Outcome, Rejected, Writer
from ..hubspot.errors import refusal_code
from ..portal.model import MODEL
from ..records.base import CustomerUpsert, InvalidRecord, MappingSettings, RecordUpsert, Skipped
from ..records.customers import map_customer
from ..records.invoices import (
    given,
    invoice_customer_id,
    invoice_fields,
    map_invoice,
    synced_invoice_identity,
)
from ..records.streams import KINDS
from ..records.subscriptions import map_subscription, subscription_customer_id
from .associations import Associations
from .customer_writes import CustomerClaims, CustomerResult, CustomerWrites, Holders
from .input_checks import FieldWatch
from .jobs import NO_JOBS, Job, StreamKey
from .parts import SyncPart
from .rejected_records import S3RejectedRecords
from .report import StreamTally, SyncReport

MAX_BATCH_BYTES = 2_000_000  # keep request bodies well under any proxy's limit
# records looked up in the ledger at once (§10): of a stream that maps alone, and customers
LOOKUP_BATCH = 128


@dataclass
class SinkContext:
    """What every sink shares, all of it owned by the message loop (the connector builds it)."""

    writer: Writer
    report: SyncReport
    settings: MappingSettings
    associations: Associations
    claims: CustomerClaims
    batch_size: int
    # Features beyond the per-stream writes (billing values, terminations): each sees every
    # record and every write the sinks fold (``sync/parts.py``).
    parts: Sequence[SyncPart] = ()
    # A subscription's plan values (docs/product.md §6) from the plans known by then: the
    # billing part's, added to what the subscription mapping gives.
    plan_values: Callable[[Mapping[str, Any]], Mapping[str, str]] | None = None
    store: S3RejectedRecords | None = None  # where rejected records go, when configured
    field_watch: FieldWatch = field(default_factory=FieldWatch)
    # Input lines that were not messages (the loop's list): also a record whose text the
    # reader's first reading let by and orjson refuses (``Sink._unreadable``).
    unreadable_lines: list[int] = field(default_factory=list)
    # docs/product.md §10: the previous sync's confirmed writes, when change tracking is on
    ledger: Ledger | None = None
    # The epoch of the records being handled now (how many STATEs came before them): set by
    # the loop before it hands a record to its sink and before it folds a job (to the job's),
    # so that a rejection counts for the STATE after its record (``StreamTally``).
    epoch: int = 0


class Buffer:
    """Mapped records of one kind, de-duplicated by key (last wins), bounded by count and bytes."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.items: dict[str, Any] = {}
        self.bytes = 0

    def add(self, key: str, item: Any, properties: Mapping[str, str]) -> bool:
        """Add; True when the buffer is full."""
        self.items.pop(key, None)
        self.items[key] = item
        self.bytes += 64 + sum(map(len, properties)) + sum(map(len, properties.values()))
        return len(self.items) >= self.batch_size or self.bytes >= MAX_BATCH_BYTES

    def drain(self) -> list[Any]:
        items, self.items, self.bytes = list(self.items.values()), {}, 0
        return items


class Sink:
    kind: str  # the stream kind this sink writes (customers, subscriptions, invoices)

    def __init__(self, stream: StreamKey, ctx: SinkContext) -> None:
        self.stream = stream
        self.ctx = ctx
        self.report = ctx.report
        self.tally = StreamTally()  # this stream's rejections, per state and by reason

    def process_record(self, data: Any, line: int | None = None) -> Sequence[Job]:
        """Map and buffer one record; answer the jobs of buffers it filled. ``line``: the
        digest of the input line it came in, when it came in one of its own (§10)."""
        self.report.received[self.kind] += 1
        self.tally.records += 1
        if type(data) is RecordData and not (self.reads_text and self._compares_text()):
            try:
                data = data.whole()
            except ValueError as error:  # text the reader's first reading let by
                self._unreadable(data, error)
                return NO_JOBS
        elif type(data) is not dict and not isinstance(data, Mapping):  # dict: no ABC check
            problem = "record data is not a JSON object"
            self.reject(self.invalid_object, Rejected("?", "INVALID_RECORD", problem))
            return NO_JOBS
        for part in self.ctx.parts:  # §6's aggregates and §8's observations see every record
            part.record(self.kind, data)
        self.ctx.field_watch.observe(self.kind, data)
        try:
            return self.buffer(data, line)
        except (Skipped, InvalidRecord) as problem:
            self._unmapped(data, problem)
        return NO_JOBS

    # A sink that reads a RecordData's fields it needs (``RecordData.view``) instead of the
    # whole record, for a record it does not map: it gets the data as it came when a ledger
    # may show records unchanged (else every record is mapped: read whole at once, once).
    reads_text = False

    def _compares_text(self) -> bool:
        ledger = self.ctx.ledger
        return ledger is not None and ledger.has_previous

    def _unmapped(self, data: Mapping[str, Any], problem: Skipped | InvalidRecord) -> None:
        """A record the mapping skips (the status rules) or cannot map (rejected)."""
        if isinstance(problem, _Unreadable):
            assert type(data) is RecordData
            self._unreadable(data, problem.error)
        elif isinstance(problem, Skipped):
            self.report.skipped[self.kind] += 1
            self._not_synced(str(self.given_lago_id(data)))
            self.tally.records -= 1
        else:
            lago_id = str(self.given_lago_id(data) or "?")
            self.reject(self.invalid_object, Rejected(lago_id, "INVALID_RECORD", str(problem)))

    def given_lago_id(self, data: Mapping[str, Any]) -> Any:
        """The record's ``lago_id`` field as it came (None: none)."""
        return data.get("lago_id")

    def _unreadable(self, data: RecordData, error: ValueError) -> None:
        """A record whose text orjson refuses is an unreadable input line, as it was when lines
        were read whole: not a record of this stream; the sync fails at its end, and §8 holds
        back (it may have been a subscription)."""
        unreadable_line(data.number, error, self.ctx.unreadable_lines)
        self.report.received[self.kind] -= 1
        self.tally.records -= 1

    def reject(
        self, obj: str, rejected: Rejected, properties: Mapping[str, Any] | None = None
    ) -> None:
        """Every rejection of this stream's records passes here (on the loop thread):
        reported, counted for the next STATE of this stream, and stored when a bucket is
        configured. ``properties``: what was (or would have been) sent to HubSpot."""
        self._not_synced(rejected.key)
        if self.ctx.ledger is not None:
            self.ctx.ledger.forget(obj, rejected.key, RECORD)
        self.report.reject(self.kind, obj, rejected.key, rejected.category, rejected.message)
        self.tally.rejected(reason_code(rejected), self.ctx.epoch)
        store = self.ctx.store
        if store is not None:
            store.add(
                self.stream[1], rejected.key, rejected.category, rejected.message, properties, obj
            )

    def _not_synced(self, lago_id: str) -> None:
        for part in self.ctx.parts:
            part.not_synced(self.kind, lago_id)

    # -- what each stream defines -----------------------------------------------------

    invalid_object = ""  # the HubSpot object an unmappable record is counted under

    @classmethod
    def enabled(cls, config: DestinationConfig) -> bool:
        """Whether this sync writes the stream at all (a ``sync_*`` switch)."""
        return True

    def buffer(self, data: Mapping[str, Any], line: int | None) -> Sequence[Job]:
        raise NotImplementedError

    def drain(self) -> Sequence[Job]:
        """Jobs for everything still buffered (at a checkpoint, or on the flush timer)."""
        return NO_JOBS

    def finish(self, completed: bool) -> Sequence[Job]:
        """After the final checkpoint; ``completed``: a STATE covered every record of this
        stream and nothing failed. The place for post-sync work derived from a stream."""
        return NO_JOBS


class CustomerSink(Sink):
    """Lago customers as companies or contacts (see ``sync/customer_writes.py``)."""

    kind = "customers"
    invalid_object = "companies"

    def __init__(self, stream: StreamKey, ctx: SinkContext) -> None:
        super().__init__(stream, ctx)
        self.claims = ctx.claims
        self.writes = CustomerWrites(ctx.writer)
        # (object key, linked) -> buffer of CustomerUpsert
        self._buffers: dict[tuple[str, bool], Buffer] = {}
        self._digests: dict[str, int] = {}  # Lago id -> digest of the buffered version (§10)
        # §10: customers mapped (and their claims made) as they came, waiting for their
        # ledger entries, looked up LOOKUP_BATCH at a time; then each is placed in the order
        # they came: (customer, digest of it as it would be sent)
        self._waiting: list[tuple[CustomerUpsert, int]] = []

    def buffer(self, data: Mapping[str, Any], line: int | None) -> Sequence[Job]:
        customer = map_customer(data, self.ctx.settings)
        if customer.hubspot_id:
            self.claims.reserve_link(customer)
        ledger = self.ctx.ledger
        if ledger is None:
            return self._place(customer, None, None)
        if customer.object_key == "contacts":
            customer = self.claims.claim_email(customer)  # as it would be sent
        digest = ledger.digest((customer.object_key, customer.hubspot_id, customer.properties))
        if not ledger.has_previous:
            return self._place(customer, digest, None)
        self._waiting.append((customer, digest))
        if len(self._waiting) < LOOKUP_BATCH:
            return NO_JOBS
        return self._look_up()

    def _look_up(self) -> Sequence[Job]:
        """The waiting customers' ledger entries, one query per HubSpot object; then each
        customer placed as if looked up alone."""
        waiting, self._waiting = self._waiting, []
        ledger = self.ctx.ledger
        assert ledger is not None
        found = {
            obj: ledger.previous_of(obj, [c.lago_id for c, _ in waiting if c.object_key == obj])
            for obj in {c.object_key for c, _ in waiting}
        }
        jobs: list[Job] = []
        for customer, digest in waiting:
            jobs.extend(self._place(customer, digest, found[customer.object_key]))
        return jobs

    def _place(
        self, customer: CustomerUpsert, digest: int | None, found: Mapping[str, Previous] | None
    ) -> Sequence[Job]:
        """Unchanged since the ledger's entry (``found``, by Lago id): no call; else buffered.
        ``digest``: of the customer as it would be sent (None: no ledger)."""
        where = (customer.object_key, bool(customer.hubspot_id))
        buffer = self._buffers.get(where)
        if buffer is None:
            buffer = self._buffers[where] = Buffer(self.ctx.batch_size)
        if digest is not None:
            if found is not None and customer.lago_id not in buffer.items:
                previous = found.get(customer.lago_id)
                if previous is not None and confirms(previous, digest, customer.hubspot_id):
                    return self._unchanged(customer, previous.target)
            self._digests[customer.lago_id] = digest
        if buffer.add(customer.lago_id, customer, customer.properties):
            return (self._batch(*where, buffer.drain()),)
        return NO_JOBS

    def _unchanged(self, customer: CustomerUpsert, hubspot_id: str) -> Sequence[Job]:
        """HubSpot holds this customer as the previous sync wrote it (§10): no call; what
        depends on its HubSpot id goes on as if it was written."""
        obj, lago_id = customer.object_key, customer.lago_id
        self.report.unchanged[obj] += 1
        assert self.ctx.ledger is not None
        self.ctx.ledger.witness(obj, hubspot_id, lago_id, customer.properties)
        self.ctx.associations.customer_written(lago_id, obj, hubspot_id)
        for part in self.ctx.parts:
            part.customer_written(lago_id, obj, hubspot_id, False)
        return self.ctx.associations.full_batches()

    def drain(self) -> Sequence[Job]:
        jobs = list(self._look_up()) if self._waiting else []
        jobs += [
            self._batch(obj, linked, buffer.drain())
            for (obj, linked), buffer in self._buffers.items()
            if buffer.items
        ]
        return jobs

    def _batch(self, obj: str, linked: bool, customers: list[CustomerUpsert]) -> Job:
        keys = [("customers", c.lago_id) for c in customers]
        if obj == "contacts":
            customers = [self.claims.claim_email(c) for c in customers]
        digests = {c.lago_id: self._digests.pop(c.lago_id, 0) for c in customers}
        fold = self._fold_results(obj, digests)
        if linked:
            claimed = []
            for customer in customers:
                conflict = self.claims.link_conflict(customer)
                if conflict is None:
                    claimed.append(customer)
                else:
                    self.reject(obj, conflict, customer.properties)
            return Job(keys, lambda: self.writes.update_linked(obj, claimed), fold)
        if obj == "contacts" and any(c.email for c in customers):
            # Two steps: read who holds the emails, decide adoptions here, then write.
            def adopt(holders: Holders) -> Sequence[Job]:
                upserts, adopted = self.claims.adopt(customers, holders)
                return (Job(keys, lambda: self.writes.upsert(obj, upserts, adopted), fold),)

            return Job(keys, lambda: self.writes.email_holders(customers), adopt)
        return Job(keys, lambda: self.writes.upsert(obj, customers, {}), fold)

    def _fold_results(
        self, obj: str, digests: Mapping[str, int]
    ) -> Callable[[list[CustomerResult]], Sequence[Job]]:
        ledger = self.ctx.ledger

        def fold(results: list[CustomerResult]) -> Sequence[Job]:
            for result in results:
                customer = result.customer
                if result.written is not None:
                    self.report.wrote(obj, result.written.created)
                    if result.adopted:
                        self.report.adopted_contacts += 1
                    written = result.written
                    if ledger is not None:
                        lago_id, hubspot_id = customer.lago_id, written.hubspot_id
                        ledger.confirm(obj, lago_id, RECORD, hubspot_id, digests[lago_id])
                        ledger.witness(obj, hubspot_id, lago_id, customer.properties)
                    self.ctx.associations.customer_written(
                        customer.lago_id, obj, written.hubspot_id
                    )
                    for part in self.ctx.parts:
                        part.customer_written(
                            customer.lago_id, obj, written.hubspot_id, written.created
                        )
                elif result.rejected is not None:
                    self.reject(obj, result.rejected, customer.properties)
            return self.ctx.associations.full_batches()

        return fold


class RecordSink(Sink):
    """Lago records that become records of one of our custom objects."""

    id_property: str

    def __init__(self, stream: StreamKey, ctx: SinkContext) -> None:
        super().__init__(stream, ctx)
        self.invalid_object = self.kind
        self._buffer = Buffer(ctx.batch_size)
        # §10: Lago id -> (digest, raw digest, previous association digest) of the version
        # buffered, for the ledger once HubSpot confirms it
        self._pending: dict[str, tuple[int, int | None, int | None]] = {}
        # §10, a stream that maps alone: records received, waiting for their ledger entries
        # (looked up LOOKUP_BATCH at a time, then buffered in the order they came): its data,
        # the digest of its input line, what ``arrival`` took and its Lago id
        self._waiting: list[
            tuple[Mapping[str, Any], int | None, Mapping[str, str] | None, str | None]
        ] = []

    # A stream whose records map from themselves, the settings and what ``arrival`` takes
    # from other records when they come (invoices: nothing; subscriptions: their plan values
    # from the plans so far): §10 compares the Lago record as received, with that, first, and
    # maps only one that changed. Such a record may also wait a little for its ledger entry:
    # one query for LOOKUP_BATCH records costs about half as much per record as one each. (A
    # record that waits is mapped later, which only a stream that maps alone allows: what
    # other records give it was taken when it came.) ``drain`` buffers whatever waits, so a
    # checkpoint covers it.
    maps_alone = False

    def arrival(self, data: Mapping[str, Any]) -> Mapping[str, str] | None:
        """What the record maps with from other records, taken as it comes (None: nothing)."""
        return None

    def buffer(self, data: Mapping[str, Any], line: int | None) -> Sequence[Job]:
        ledger = self.ctx.ledger
        extra = self.arrival(data)
        if not self.maps_alone or ledger is None or not ledger.has_previous:
            return self._buffer_one(data, None, line, extra)
        self._waiting.append((data, line, extra, _lago_id(self.given_lago_id(data))))
        if len(self._waiting) < LOOKUP_BATCH:
            return NO_JOBS
        return self._look_up()

    def _look_up(self) -> Sequence[Job]:
        """The waiting records' ledger entries in one query, then each record buffered."""
        waiting, self._waiting = self._waiting, []
        assert self.ctx.ledger is not None
        found = self.ctx.ledger.previous_of(self.kind, [w[3] for w in waiting if w[3]])
        jobs: list[Job] = []
        for data, line, extra, lago_id in waiting:
            try:
                jobs.extend(self._buffer_one(data, found, line, extra, lago_id))
            except (Skipped, InvalidRecord) as problem:
                self._unmapped(data, problem)
        return jobs

    def _buffer_one(
        self,
        data: Mapping[str, Any],
        found: Mapping[str, Previous] | None,
        line: int | None,
        extra: Mapping[str, str] | None,
        lago_id: str | None = None,
    ) -> Sequence[Job]:
        """``found``: the ledger entries looked up already (by Lago id), or None: look up;
        ``line``: the digest of the record's input line (None: serialise ``data``);
        ``extra``: what ``arrival`` took; ``lago_id``: the record's, with ``found``."""
        ledger = self.ctx.ledger
        previous, raw = None, None
        if found is None:
            lago_id = _lago_id(self.given_lago_id(data)) if ledger is not None else None
        if ledger is not None and lago_id and lago_id not in self._buffer.items:
            previous = ledger.previous(self.kind, lago_id) if found is None else found.get(lago_id)
            if self.maps_alone:
                raw = ledger.raw_digest(data, line, extra)
                if previous is not None and previous.raw == raw:
                    customer_id = self.customer_of(data)
                    return self._unchanged(
                        lago_id, customer_id, previous, lambda: self.map(data, extra).properties
                    )
        record = self.map(data, extra)
        if ledger is not None:
            digest = ledger.digest(record.properties)
            if previous is not None and previous.digest == digest:
                if raw is not None:  # read differently, the same properties (e.g. another day)
                    ledger.note_raw(self.kind, record.lago_id, raw)
                properties = record.properties
                return self._unchanged(
                    record.lago_id, record.customer_lago_id, previous, properties
                )
            self._pending[record.lago_id] = (digest, raw, previous.assoc if previous else None)
        if self._buffer.add(record.lago_id, record, record.properties):
            return (self._batch(self._buffer.drain()),)
        return NO_JOBS

    def _unchanged(
        self,
        lago_id: str,
        customer_id: str | None,
        previous: Previous,
        properties: Mapping[str, str] | Callable[[], Mapping[str, str]],
    ) -> Sequence[Job]:
        """HubSpot holds this record as the previous sync wrote it (§10): no call; its
        association and the parts go on as if it was written."""
        obj, hubspot_id = self.kind, previous.target
        self.report.unchanged[obj] += 1
        assert self.ctx.ledger is not None
        self.ctx.ledger.witness(obj, hubspot_id, lago_id, properties)
        for part in self.ctx.parts:
            part.synced(obj, lago_id, hubspot_id)
        associations = self.ctx.associations
        associations.record_written(obj, hubspot_id, lago_id, customer_id, previous.assoc)
        return associations.full_batches()

    def customer_of(self, data: Mapping[str, Any]) -> str | None:
        """The Lago customer id a record names (for a stream that ``maps_alone``)."""
        raise NotImplementedError

    def map(self, data: Mapping[str, Any], extra: Mapping[str, str] | None) -> RecordUpsert:
        """The record as sent; ``extra``: what ``arrival`` took when it came."""
        raise NotImplementedError

    def drain(self) -> Sequence[Job]:
        jobs = list(self._look_up()) if self._waiting else []
        if self._buffer.items:
            jobs.append(self._batch(self._buffer.drain()))
        return jobs or NO_JOBS

    def _batch(self, records: list[RecordUpsert]) -> Job:
        obj = self.kind
        items = [Item(r.lago_id, r.properties) for r in records]
        pending = {r.lago_id: self._pending.pop(r.lago_id, (0, None, None)) for r in records}
        ledger = self.ctx.ledger

        def fold(outcome: Outcome) -> Sequence[Job]:
            by_key = {r.lago_id: r for r in records}
            for rejected in outcome.rejected:
                record = by_key.get(rejected.key)
                self.reject(obj, rejected, record.properties if record else None)
            for written in outcome.written:
                self.report.wrote(obj, written.created)
                record = by_key[written.key]
                digest, raw, association = pending[written.key]
                if ledger is not None:
                    hubspot_id = written.hubspot_id
                    ledger.confirm(obj, record.lago_id, RECORD, hubspot_id, digest, raw)
                    ledger.witness(obj, hubspot_id, record.lago_id, record.properties)
                for part in self.ctx.parts:
                    part.synced(obj, record.lago_id, written.hubspot_id)
                self.ctx.associations.record_written(
                    obj, written.hubspot_id, record.lago_id, record.customer_lago_id, association
                )
            return self.ctx.associations.full_batches()

        return Job(
            [(obj, r.lago_id) for r in records],
            lambda: self.ctx.writer.upsert(obj, self.id_property, items),
            fold,
        )


class SubscriptionSink(RecordSink):
    kind = "subscriptions"
    id_property = MODEL.subscriptions.id_property

    @classmethod
    def enabled(cls, config: DestinationConfig) -> bool:
        return config.sync_subscriptions

    maps_alone = True  # its plan values are taken as it comes

    def arrival(self, data: Mapping[str, Any]) -> Mapping[str, str] | None:
        # The plan values when the plan is known by now (nested, or from the plans stream so
        # far); a plan that comes later is written by the billing part (billing/deferred.py).
        plan_values = self.ctx.plan_values
        return (plan_values(data) or None) if plan_values is not None else None

    def map(self, data: Mapping[str, Any], extra: Mapping[str, str] | None) -> RecordUpsert:
        record = map_subscription(data, self.ctx.settings)
        if extra:
            record = replace(record, properties={**record.properties, **extra})
        return record

    def customer_of(self, data: Mapping[str, Any]) -> str | None:
        return subscription_customer_id(data)


class InvoiceSink(RecordSink):
    kind = "invoices"
    id_property = MODEL.invoices.id_property
    maps_alone = True
    reads_text = True  # an unchanged invoice is compared, counted and rolled up by its fields

    def customer_of(self, data: Mapping[str, Any]) -> str | None:
        return invoice_customer_id(data)

    def map(self, data: Mapping[str, Any], extra: Mapping[str, str] | None) -> RecordUpsert:
        if type(data) is RecordData:  # a draft is skipped by its fields, the rest not read
            synced_invoice_identity(invoice_fields(data))
        return map_invoice(whole(data), self.ctx.settings)

    def given_lago_id(self, data: Mapping[str, Any]) -> Any:
        if type(data) is RecordData:  # by its fields, the rest not read
            return given(invoice_fields(data).lago_id)
        return data.get("lago_id")

    @classmethod
    def enabled(cls, config: DestinationConfig) -> bool:
        return config.sync_invoices


class _Unreadable(InvalidRecord):
    """A RecordData whose text orjson refuses (``Sink._unreadable``)."""

    def __init__(self, error: ValueError) -> None:
        super().__init__(f"the record's data is not valid JSON ({type(error).__name__})")
        self.error = error


def whole(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` as a mapping read whole (a RecordData's text orjson refuses: ``_Unreadable``)."""
    if type(data) is not RecordData:
        return data
    try:
        return data.whole()
    except ValueError as error:
        raise _Unreadable(error) from None


def _lago_id(lago_id: Any) -> str | None:
    return (lago_id.strip() or None) if isinstance(lago_id, str) else None


def reason_code(rejected: Rejected) -> str:
    """What makes two rejections "one reason": HubSpot's structured code (category, sub-
    category, each refused property and its code), or for the destination's own rejections
    the category (and, for a record it cannot map, the mapping's message)."""
    if rejected.error is not None:
        return refusal_code(rejected.error)
    if rejected.category == "INVALID_RECORD":
        return f"INVALID_RECORD {rejected.message}"
    return rejected.category


class BillingOnlySink(Sink):
    """``plans``, ``fees``, ``wallets``: consumed for docs/product.md §6 (``Sink.process_record``
    hands every record to the sync's parts, the billing part among them), written nowhere
    themselves."""

    def buffer(self, data: Mapping[str, Any], line: int | None) -> Sequence[Job]:
        return NO_JOBS


class PlanSink(BillingOnlySink):
    kind = "plans"


class FeeSink(BillingOnlySink):
    kind = "fees"


class WalletSink(BillingOnlySink):
    kind = "wallets"


# The streams this destination consumes, by kind (a stream name ends with its kind).
SINKS: dict[str, type[Sink]] = {
    "customers": CustomerSink,
    "subscriptions": SubscriptionSink,
    "invoices": InvoiceSink,
    "plans": PlanSink,
    "fees": FeeSink,
    "wallets": WalletSink,
}
assert tuple(SINKS) == KINDS  # one sink per kind records/streams.py names
