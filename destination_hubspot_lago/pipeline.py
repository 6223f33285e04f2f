"""The write pipeline: route, map, buffer, flush in order, checkpoint, report.

A record's way: stdin -> :meth:`WritePipeline.run` -> mapping -> a per-object buffer
-> a batch on the worker pool -> :class:`BatchWriter` -> HubSpot, and back as an
:class:`Outcome` that the report counts and the next STATE waits for.

Order rules:

* Customers, subscriptions and invoices are upserted as their buffers fill (≤100),
  several batches in flight, all sharing the client's pacing.
* An association needs both ends' HubSpot ids. A subscription or invoice is written
  at once; its association waits until its customer's id is known — from this sync's
  customer upserts, or by reading HubSpot at the next checkpoint.
* On every STATE: submit every buffer, wait for every batch (customers and records),
  look up unknown customers, make the pending associations, wait again — then echo
  the state. A failure anywhere stops the echoing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import date
from typing import Any

from airbyte_protocol_dataclasses.models import (
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateStats,
    AirbyteStateType,
    ConfiguredAirbyteCatalog,
    Type,
)

from .batches import DRY_RUN_ID_PREFIX, BatchWriter, Item
from .config import DestinationConfig
from .customer_writes import CustomerWriter
from .deployment import Deployment
from .hubspot import HubSpotClient
from .mapping import (
    CustomerUpsert,
    InvalidRecord,
    MappingSettings,
    RecordUpsert,
    Skipped,
    map_customer,
    map_invoice,
    map_subscription,
)
from .model import MODEL
from .report import MAX_LOGGED_REJECTIONS, Rejection, SyncReport

logger = logging.getLogger("airbyte")

STREAM_KINDS = ("customers", "subscriptions", "invoices")
BATCH_SIZE = 100
MAX_BATCH_BYTES = 2_000_000  # keep request bodies well under any proxy's limit
FLUSH_INTERVAL_SECONDS = 300.0  # a state never waits longer than this for a flush
PROGRESS_INTERVAL_SECONDS = 10.0
WORKERS = 8


class RecordsRejected(Exception):
    """Raised after everything else was written and checkpointed."""


class _Buffer:
    """Mapped records of one kind, de-duplicated by key (last wins), bounded by count and bytes."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}
        self.bytes = 0

    def add(self, key: str, item: Any, properties: Mapping[str, str]) -> None:
        self.items.pop(key, None)
        self.items[key] = item
        self.bytes += 64 + sum(len(k) + len(v) for k, v in properties.items())

    @property
    def full(self) -> bool:
        return len(self.items) >= BATCH_SIZE or self.bytes >= MAX_BATCH_BYTES

    def drain(self) -> list[Any]:
        items, self.items, self.bytes = list(self.items.values()), {}, 0
        return items


def stream_kind(name: str) -> str | None:
    """``customers`` / ``subscriptions`` / ``invoices``, also behind a connection prefix."""
    for kind in STREAM_KINDS:
        if name == kind or name.endswith(kind):
            return kind
    return None


class WritePipeline:
    def __init__(
        self,
        config: DestinationConfig,
        client: HubSpotClient,
        deployment: Deployment,
        catalog: ConfiguredAirbyteCatalog | None = None,
        bad_input_lines: list[int] | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.client = client
        self.deployment = deployment
        self.writer = BatchWriter(client, dry_run=config.dry_run)
        self.customer_writer = CustomerWriter(self.writer)
        self.report = SyncReport(dry_run=config.dry_run)
        self.settings = MappingSettings(
            default_targeted_object=config.default_targeted_object,
            connection_code=config.connection_code,
            lago_front_url=config.lago_front_url,
            lago_organization_slug=config.lago_organization_slug,
            today=date.today(),
        )
        self.enabled = {
            "customers": True,
            "subscriptions": config.sync_subscriptions,
            "invoices": config.sync_invoices,
        }
        self.bad_input_lines = bad_input_lines if bad_input_lines is not None else []
        self._announced: set[str] = set()

        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hubspot")
        self._slots = threading.BoundedSemaphore(workers * 2)  # bounds memory in flight
        self._lock = threading.Lock()
        self._in_flight: set[Future[None]] = set()
        self._key_batches: dict[tuple[str, str], Future[None]] = {}  # record -> its batch
        self._fatal: BaseException | None = None

        # (object key, "upsert" | "link") -> buffer of CustomerUpsert
        self._customer_buffers: dict[tuple[str, str], _Buffer] = defaultdict(_Buffer)
        self._record_buffers: dict[str, _Buffer] = defaultdict(_Buffer)
        # Lago customer id -> (HubSpot object key, HubSpot id)
        self._customer_ids: dict[str, tuple[str, str]] = {}
        # Lago customer id -> records written and waiting for that customer's HubSpot id
        self._waiting: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self._looked_up: set[str] = set()  # asked HubSpot already; not there (yet)
        # (record object key, customer object key) -> [(record id, customer id, lago id)]
        self._associations: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)

        self._records_since_state: Counter[tuple[str | None, str]] = Counter()
        self._last_flush = time.monotonic()
        self._last_progress = time.monotonic()

    # -- the message loop -----------------------------------------------------------

    def run(self, messages: Iterable[AirbyteMessage]) -> Iterator[AirbyteMessage]:
        for configured in self.catalog.streams if self.catalog else []:
            self._announce(configured.stream.name)
        try:
            for message in messages:
                if message.type == Type.RECORD and message.record is not None:
                    self._on_record(
                        message.record.stream, message.record.namespace, message.record.data
                    )
                elif message.type == Type.STATE and message.state is not None:
                    self._checkpoint()
                    self._attach_stats(message.state)
                    yield message
                self._tick()
            self._checkpoint(final=True)
        finally:
            self._executor.shutdown(wait=True, cancel_futures=True)
        logger.info(self.report.summary(self.client.stats))
        self._finish()

    def _on_record(self, stream: str, namespace: str | None, data: Mapping[str, Any]) -> None:
        self._records_since_state[(namespace, stream)] += 1
        kind = stream_kind(stream)
        if kind is None or not self.enabled[kind]:
            self._announce(stream)
            return
        self.report.received[kind] += 1  # main thread only: no lock needed
        lago_id = str(data.get("lago_id") or "?") if isinstance(data, Mapping) else "?"
        try:
            if not isinstance(data, Mapping):
                raise InvalidRecord("record data is not a JSON object")
            if kind == "customers":
                self._buffer_customer(map_customer(data, self.settings))
            else:
                mapper = map_subscription if kind == "subscriptions" else map_invoice
                self._buffer_record(mapper(data, self.settings))
        except Skipped:
            self.report.skipped[kind] += 1
        except InvalidRecord as problem:
            obj = "companies" if kind == "customers" else kind
            self.report.reject(kind, obj, lago_id, "INVALID_RECORD", str(problem))

    def _announce(self, stream: str) -> None:
        """One log line per stream this sync skips."""
        kind = stream_kind(stream)
        if stream in self._announced or (kind is not None and self.enabled[kind]):
            return
        self._announced.add(stream)
        why = "is not one this destination writes" if kind is None else "is switched off"
        logger.info("Skipping stream %s: it %s.", stream, why)

    def _buffer_customer(self, customer: CustomerUpsert) -> None:
        mode = "link" if customer.hubspot_id else "upsert"
        if customer.hubspot_id:
            self.customer_writer.reserve_link(customer)
        key = (customer.object_key, mode)
        buffer = self._customer_buffers[key]
        buffer.add(customer.lago_id, customer, customer.properties)
        if buffer.full:
            self._submit_customers(customer.object_key, mode, buffer.drain())

    def _buffer_record(self, record: RecordUpsert) -> None:
        buffer = self._record_buffers[record.object_key]
        buffer.add(record.lago_id, record, record.properties)
        if buffer.full:
            self._submit_records(record.object_key, buffer.drain())

    def _tick(self) -> None:
        self._raise_fatal()
        self._submit_full_associations()
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL_SECONDS:
            self._flush_buffers()
        if now - self._last_progress >= PROGRESS_INTERVAL_SECONDS:
            self._last_progress = now
            logger.info(self.report.progress_line(self.client.stats, self.client.pacer))

    # -- checkpoints ----------------------------------------------------------------

    def _checkpoint(self, final: bool = False) -> None:
        """Return only when everything received so far is in HubSpot (or rejected)."""
        self._flush_buffers()
        self._wait_all()
        self._resolve_waiting_customers(final)
        self._submit_all_associations()
        self._wait_all()
        if final:
            with self._lock:
                waiting = {k: list(v) for k, v in self._waiting.items()}
            for customer_id, records in waiting.items():
                for obj, _, lago_id in records:
                    self.report.missing_association(
                        obj, lago_id, f"customer {customer_id} is not in HubSpot nor in this sync"
                    )

    def _flush_buffers(self) -> None:
        self._last_flush = time.monotonic()
        for (obj, mode), buffer in list(self._customer_buffers.items()):
            if buffer.items:
                self._submit_customers(obj, mode, buffer.drain())
        for obj, buffer in list(self._record_buffers.items()):
            if buffer.items:
                self._submit_records(obj, buffer.drain())

    def _attach_stats(self, state: AirbyteStateMessage) -> None:
        if state.type == AirbyteStateType.STREAM and state.stream is not None:
            descriptor = state.stream.stream_descriptor
            count = self._records_since_state.pop((descriptor.namespace, descriptor.name), 0)
        else:
            count = sum(self._records_since_state.values())
            self._records_since_state.clear()
        state.destinationStats = AirbyteStateStats(recordCount=float(count))

    # -- the worker pool ------------------------------------------------------------

    def _submit_customers(self, obj: str, mode: str, customers: list[CustomerUpsert]) -> None:
        keys = [("customers", c.lago_id) for c in customers]
        self._submit_in_order(keys, self._write_customers, obj, mode, customers)

    def _submit_records(self, obj: str, records: list[RecordUpsert]) -> None:
        keys = [(obj, r.lago_id) for r in records]
        self._submit_in_order(keys, self._write_records, obj, records)

    def _submit_in_order(
        self, keys: list[tuple[str, str]], task: Callable[..., None], *args: Any
    ) -> None:
        """A record's newer version waits for the batch carrying its older one, so that the
        last version received is the last one written (batches otherwise finish in any order)."""
        with self._lock:
            earlier = {self._key_batches[k] for k in keys if k in self._key_batches}
        if earlier:
            wait(earlier)
            self._raise_fatal()
        future = self._submit(task, *args)
        with self._lock:
            for key in keys:
                self._key_batches[key] = future
        future.add_done_callback(lambda done: self._forget_keys(keys, done))

    def _forget_keys(self, keys: list[tuple[str, str]], future: Future[None]) -> None:
        with self._lock:
            for key in keys:
                if self._key_batches.get(key) is future:
                    del self._key_batches[key]

    def _submit(self, task: Callable[..., None], *args: Any) -> Future[None]:
        while not self._slots.acquire(timeout=PROGRESS_INTERVAL_SECONDS):
            self._raise_fatal()
            logger.info(self.report.progress_line(self.client.stats, self.client.pacer))
        self._raise_fatal()
        future = self._executor.submit(task, *args)
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)
            error = future.exception() if not future.cancelled() else None
            if error is not None and self._fatal is None:
                self._fatal = error
        self._slots.release()

    def _wait_all(self) -> None:
        while True:
            with self._lock:
                pending = set(self._in_flight)
            if not pending:
                break
            wait(pending, timeout=PROGRESS_INTERVAL_SECONDS)
            self._raise_fatal()
            self._submit_full_associations()
            if time.monotonic() - self._last_progress >= PROGRESS_INTERVAL_SECONDS:
                self._last_progress = time.monotonic()
                logger.info(self.report.progress_line(self.client.stats, self.client.pacer))
        self._raise_fatal()

    def _raise_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    # -- tasks (run on worker threads) ----------------------------------------------

    def _write_customers(self, obj: str, mode: str, customers: list[CustomerUpsert]) -> None:
        results = self.customer_writer.write(obj, self._type_id(obj), mode == "link", customers)
        released: list[str] = []
        for result in results:
            customer = result.customer
            if result.written is not None:
                counter = self.report.created if result.written.created else self.report.updated
                self.report.count(counter, obj)
                if result.adopted:
                    self.report.add("adopted_contacts", 1)
                with self._lock:
                    self._customer_ids[customer.lago_id] = (obj, result.written.hubspot_id)
                released.append(customer.lago_id)
            elif result.rejected is not None:
                rejected = result.rejected
                self.report.reject(
                    "customers", obj, customer.lago_id, rejected.category, rejected.message
                )
        self._release_waiting(released)

    def _write_records(self, obj: str, records: list[RecordUpsert]) -> None:
        type_id = self._type_id(obj)
        spec = MODEL.subscriptions if obj == "subscriptions" else MODEL.invoices
        items = [Item(r.lago_id, r.properties) for r in records]
        outcome = self.writer.upsert(type_id, spec.id_property, items)
        by_key = {r.lago_id: r for r in records}
        for rejected in outcome.rejected:
            self.report.reject(obj, obj, rejected.key, rejected.category, rejected.message)
        for written in outcome.written:
            self.report.count(self.report.created if written.created else self.report.updated, obj)
        with self._lock:
            for written in outcome.written:
                record = by_key[written.key]
                if record.customer_lago_id is None:
                    self.report.missing_association(obj, record.lago_id, "it names no customer")
                    continue
                self._link_locked(obj, written.hubspot_id, record.lago_id, record.customer_lago_id)

    def _link_locked(self, obj: str, hubspot_id: str, lago_id: str, customer_id: str) -> None:
        known = self._customer_ids.get(customer_id)
        if known is None:
            self._waiting[customer_id].append((obj, hubspot_id, lago_id))
        else:
            customer_obj, customer_hubspot_id = known
            self._associations[(obj, customer_obj)].append(
                (hubspot_id, customer_hubspot_id, lago_id)
            )

    def _release_waiting(self, customer_ids: Iterable[str]) -> None:
        with self._lock:
            for customer_id in customer_ids:
                for obj, hubspot_id, lago_id in self._waiting.pop(customer_id, []):
                    self._link_locked(obj, hubspot_id, lago_id, customer_id)

    def _resolve_waiting_customers(self, final: bool) -> None:
        """Find customers of waiting records in HubSpot (written by an earlier sync)."""
        with self._lock:
            unknown = [c for c in self._waiting if final or c not in self._looked_up]
        if not unknown:
            return
        for obj in ("companies", "contacts"):
            if not unknown:
                break
            found = self.writer.read_by_property(
                self._type_id(obj), "lago_customer_id", unknown, []
            )
            with self._lock:
                for lago_id, record in found.items():
                    self._customer_ids[lago_id] = (obj, str(record["id"]))
            self._release_waiting(found)
            unknown = [c for c in unknown if c not in found]
        self._looked_up.update(unknown)

    def _submit_full_associations(self) -> None:
        self._submit_associations(only_full=True)

    def _submit_all_associations(self) -> None:
        self._submit_associations(only_full=False)

    def _submit_associations(self, only_full: bool) -> None:
        batches: list[tuple[str, str, list[tuple[str, str, str]]]] = []
        with self._lock:
            for (obj, customer_obj), pairs in self._associations.items():
                while len(pairs) >= BATCH_SIZE or (pairs and not only_full):
                    batches.append((obj, customer_obj, pairs[:BATCH_SIZE]))
                    del pairs[:BATCH_SIZE]
        for obj, customer_obj, batch in batches:
            self._submit(self._associate, obj, customer_obj, batch)

    def _associate(self, obj: str, customer_obj: str, batch: list[tuple[str, str, str]]) -> None:
        pairs = [(record_id, customer_id) for record_id, customer_id, _ in batch]
        planned = [p for p in pairs if not p[0].startswith(DRY_RUN_ID_PREFIX)]
        outcome = self.writer.associate(self._type_id(obj), self._type_id(customer_obj), planned)
        made = len(outcome.made) + (len(pairs) - len(planned))
        self.report.add("associations", made)
        lago_ids = {(r, c): lago for r, c, lago in batch}
        for pair, reason in outcome.failed:
            self.report.reject_association(obj, lago_ids.get(pair, "?"), reason)

    def _type_id(self, obj: str) -> str:
        type_id = self.deployment.object_type_ids.get(obj)
        if type_id is None:  # dry run against a portal where the object does not exist yet
            return f"{DRY_RUN_ID_PREFIX}{obj}"
        return type_id

    # -- the end --------------------------------------------------------------------

    def _finish(self) -> None:
        report = self.report
        for stream, lago_id, why in report.missing_associations[:MAX_LOGGED_REJECTIONS]:
            logger.warning("No association for %s %s: %s", stream, lago_id, why)
        if self.bad_input_lines:
            lines = ", ".join(str(n) for n in self.bad_input_lines[:10])
            count = len(self.bad_input_lines)
            unreadable = Rejection(
                "input", f"lines {lines}", "INVALID_MESSAGE", f"{count} unreadable line(s)"
            )
            logger.error("Rejected %s", unreadable.line())
            report.rejections.insert(0, unreadable)  # the most basic problem comes first
        if report.rejections:
            first = "; ".join(r.line() for r in report.rejections[:5])
            more = len(report.rejections) - 5
            if self.config.dry_run:
                head = (
                    f"Dry run: {len(report.rejections)} record(s) would not be written to "
                    "HubSpot (nothing was written)."
                )
            else:
                head = (
                    f"{len(report.rejections)} record(s) were not written to HubSpot; every "
                    "other record was written and checkpointed."
                )
            raise RecordsRejected(
                f"{head} First: {first}"
                + (f" (and {more} more, listed in the log)" if more > 0 else "")
                + ". Fix what each reason names (in Lago, or in HubSpot) and run the sync again."
            )
