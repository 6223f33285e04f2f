"""The message loop: route records to their stream's sink, run jobs, fold outcomes, checkpoint.

One thread — the loop's — owns all sync state: the sinks' buffers, the customer claims,
the Lago-customer -> HubSpot-id index and waiting associations, the report's counters.
Worker threads run a job's ``work`` (HTTP only) and return its outcome; the finished future
is handed back through a queue and the loop folds it. The input is read by a thread of its
own (``inbox.py``) that touches no sync state, so that a STATE is echoed while the source
is quiet.

Rules the loop keeps:

* Concurrency and memory: at most ``2 x workers`` jobs in flight (a job's second step
  takes its first step's place); buffers hold at most ``batch_size`` records or 2 MB.
* Ordering: a job holding a newer version of a record waits until the job holding its
  older one is folded, so the last version received is the last one written.
* Checkpoints: a STATE does not stop the reading. On a STATE the loop drains every sink
  and part (those jobs are the STATE's) and reads on; the STATE waits, in the order STATEs
  came, until every job of the records before it is folded, then the customers still unknown
  are looked up and the pending associations made (two more steps whose jobs are the
  STATE's too) — and only then is it echoed. Each job carries its *epoch* (the STATEs read
  before its records; a job a fold answers keeps its parent's), which is how a STATE knows
  its jobs and a rejection the STATE it counts for. A failed job stops the reading; the STATEs
  before its records are still echoed once their writes are in, then the sync fails. Buffers
  also flush on a timer.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from airbyte_protocol_dataclasses.models import (
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    ConfiguredAirbyteCatalog,
    Type,
)

from ..airbyte.incoming import record_digest, set_destination_stats
from ..airbyte.outgoing import Outbox
from ..config import DestinationConfig
from ..hubspot import HubSpotClient
from ..records.streams import stream_kind
from .inbox import Inbox
from .jobs import Job, RecordKey, StreamKey
from .parts import SyncEnd, SyncStart
from .rejected_records import StorageProblem
from .report import MAX_LOGGED_REJECTIONS
from .sinks import SINKS, Sink, SinkContext

logger = logging.getLogger("airbyte")

BATCH_SIZE = 100
FLUSH_INTERVAL_SECONDS = 300.0  # a state never waits longer than this for a flush
PROGRESS_INTERVAL_SECONDS = 10.0
QUIET_WAIT_SECONDS = 0.05  # how often a waiting STATE's loop looks for input meanwhile
WORKERS = 16


class RecordsRejected(Exception):
    """Every record of a stream was rejected for one reason (a systemic fault, docs/product.md §7),
    or the input was unreadable; raised after every state was echoed. Plain rejections do
    not raise: they are counted, reported and stored."""


@dataclass
class _WaitingState:
    """A STATE read and not echoed yet (see the module's text)."""

    message: AirbyteMessage
    state: AirbyteStateMessage
    epoch: int  # the STATEs read before it: the jobs of its records have this epoch or less
    count: int  # its records: of its stream, or of every stream for a global STATE
    stream: StreamKey | None  # None: a global STATE (every stream)
    step: int = 0  # 0: its records' jobs; 1: customers looked up; 2: associations made


class WritePipeline:
    """The message loop of one sync. Its parts come from the connector (the composition root,
    ``connector.build_pipeline``): the sinks' shared context, the sync parts (billing values,
    terminations), and the outbox of messages other threads produced for it to print."""

    def __init__(
        self,
        config: DestinationConfig,
        client: HubSpotClient,
        context: SinkContext,
        catalog: ConfiguredAirbyteCatalog | None = None,
        bad_input_lines: list[int] | None = None,
        *,
        outbox: Outbox | None = None,
        workers: int = WORKERS,
        flush_interval: float = FLUSH_INTERVAL_SECONDS,
        progress_interval: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.client = client
        self.context = context
        self.report = context.report
        self.store = context.store  # rejected records' bucket (None: not configured, dry run)
        self.associations = context.associations
        self.parts = tuple(context.parts)  # the sinks tell them of records and writes too
        self.outbox = outbox if outbox is not None else Outbox()
        self.bad_input_lines = bad_input_lines if bad_input_lines is not None else []
        context.unreadable_lines = self.bad_input_lines  # a record's text may be one (sinks)
        self._messages = 0  # readable input messages (all input unreadable fails the sync)
        self._sinks: dict[StreamKey, Sink | None] = {}  # None: a stream this sync skips
        self._flush_interval = flush_interval
        self._progress_interval = progress_interval

        self._workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hubspot")
        self._max_in_flight = workers * 2  # bounds memory in flight
        self._in_flight: dict[Future[Any], tuple[Job, int]] = {}  # -> (job, its epoch)
        self._finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self._ready: list[tuple[Job, int]] = []  # answered by folds, submitted by the loop
        self._key_jobs: dict[RecordKey, Future[Any]] = {}  # record -> the job writing it
        self._epoch = 0  # STATEs read so far: the epoch of the records read now
        self._open: Counter[int] = Counter()  # epoch -> its jobs not folded (in flight, ready)
        self._states: deque[_WaitingState] = deque()  # read, not echoed, oldest first
        self._failure: tuple[int, Exception] | None = None  # the earliest failed job's

        self._records_since_state: Counter[StreamKey] = Counter()
        self._stated: set[StreamKey] = set()  # streams a STATE covered (see completed_streams)
        self._last_flush = time.monotonic()
        self._last_progress = time.monotonic()

    # -- the message loop -----------------------------------------------------------

    def run(self, messages: Iterable[AirbyteMessage]) -> Iterator[AirbyteMessage]:
        for configured in self.catalog.streams if self.catalog else []:
            stream = configured.stream
            self._sink((stream.namespace, stream.name))
        start = SyncStart(
            frozenset(self._open_kinds()),
            from_catalog=self.catalog is not None,
            concurrency=self._workers,
        )
        for part in self.parts:
            part.start(start)
        outbox = self.outbox
        inbox = Inbox(messages)  # read on a thread of its own: see _next_chunk
        try:
            yield from outbox.take()  # e.g. a rotated token from the preflight's refresh
            while self._failure is None and (chunk := self._next_chunk(inbox)) != []:
                if chunk is None:  # no input yet, and a STATE waits: it may be done now
                    yield from self._echo(self._advance())
                    continue
                for message in chunk:
                    self._messages += 1
                    if message.type == Type.RECORD and message.record is not None:
                        record = message.record
                        key = (record.namespace, record.stream)
                        self._records_since_state[key] += 1
                        sink = self._sinks[key] if key in self._sinks else self._sink(key)
                        if sink is not None:
                            self.context.epoch = self._epoch
                            line = record_digest(record)
                            for job in sink.process_record(record.data, line):
                                self._submit(job)
                    elif message.type == Type.STATE and message.state is not None:
                        self._state_read(message, message.state)
                    self._tick()
                    if self._states:
                        yield from self._echo(self._advance())
                    if outbox:  # a worker refreshed the OAuth token: print its CONTROL now
                        yield from outbox.take()
                    if self._failure is not None:
                        break  # read no more: echo what came before the failed job, then fail
            yield from self._echo_every_state()
            self._checkpoint(final=True)
            self._post_sync()
            yield from outbox.take()
        except Exception:
            self._keep_rejections()  # the sync stops; what was rejected before is kept
            raise
        finally:
            inbox.close()
            self._executor.shutdown(wait=True, cancel_futures=True)
            for part in self.parts:
                part.close()  # temporary files, also after a failure
        for part in self.parts:
            self.report.summary_lines.extend(part.summary())
        self._finish()

    def _next_chunk(self, inbox: Inbox) -> list[AirbyteMessage] | None:
        """The next messages; [] once the input is over. While a STATE waits for its writes
        and no input has come, fold what finished meanwhile and answer None (so that the
        STATE is echoed without waiting for the source's next message)."""
        if not self._states:
            chunk = inbox.take()
        elif (chunk := inbox.take(timeout=0)) is None:
            finished: Future[Any] | None
            try:
                finished = self._finished.get(timeout=QUIET_WAIT_SECONDS)
            except queue.Empty:
                finished = None
            if finished is not None:
                self._fold(finished)
            self._tick()
        return chunk

    def _sink(self, stream: StreamKey) -> Sink | None:
        """The stream's sink, opened on first sight; None (logged once) for a skipped one."""
        name = stream[1]
        kind = stream_kind(name)
        sink = None
        if kind is not None and SINKS[kind].enabled(self.config):
            sink = SINKS[kind](stream, self.context)
        elif stream not in self._sinks:
            why = "is not one this destination writes" if kind is None else "is switched off"
            logger.info("Skipping stream %s: it %s.", name, why)
        self._sinks[stream] = sink
        return sink

    def _tick(self) -> None:
        if not self._finished.empty():
            self._fold_finished()
        if self._ready:
            self._submit_ready()
        now = time.monotonic()
        if now - self._last_flush >= self._flush_interval:
            self._flush()
        if now - self._last_progress >= self._progress_interval:
            self._log_progress()

    def _log_progress(self) -> None:
        self._last_progress = time.monotonic()
        logger.info(self.report.progress_line(self.client.stats, self.client.pacer))

    # -- checkpoints ----------------------------------------------------------------

    def _state_read(self, message: AirbyteMessage, state: AirbyteStateMessage) -> None:
        """Drain the buffers (their jobs are this STATE's), note the STATE, read on."""
        self._flush()
        if state.type == AirbyteStateType.STREAM and state.stream is not None:
            descriptor = state.stream.stream_descriptor
            key: StreamKey = (descriptor.namespace, descriptor.name)
            count = self._records_since_state.pop(key, 0)
            self._stated.add(key)
            stream: StreamKey | None = key
        else:
            stream = None
            count = sum(self._records_since_state.values())
            self._stated.update(self._sinks)
            self._records_since_state.clear()
        self._states.append(_WaitingState(message, state, self._epoch, count, stream))
        self._epoch += 1

    def _busy(self, epoch: int) -> bool:
        """Whether a job of ``epoch`` or an earlier one is not folded yet."""
        return any(e <= epoch for e in self._open)

    def _advance(self) -> list[_WaitingState]:
        """Take the oldest STATEs a step further where their jobs are folded (never waits
        for an answer); answer those whose last step is done, in order."""
        done: list[_WaitingState] = []
        while self._states:
            head = self._states[0]
            if self._busy(head.epoch) or self._failed_before(head):
                break
            if head.step == 0:  # its records' writes are folded
                head.step = 1
                self._submit_all(self.associations.lookup(False), head.epoch)
            elif head.step == 1:  # the customers still unknown were looked up
                head.step = 2
                self._submit_all(self.associations.drain(), head.epoch)
            else:  # the pending associations are made
                done.append(self._states.popleft())
        return done

    def _failed_before(self, waiting: _WaitingState) -> bool:
        """Whether a failed job held records that came before ``waiting``."""
        return self._failure is not None and self._failure[0] <= waiting.epoch

    def _echo(self, done: list[_WaitingState]) -> Iterator[AirbyteMessage]:
        for waiting in done:
            if waiting.stream is not None:
                sink = self._sinks.get(waiting.stream)
                rejected = sink.tally.take_since_state(waiting.epoch) if sink else 0
            else:
                sinks = self._open_sinks()
                rejected = sum(sink.tally.take_since_state(waiting.epoch) for sink in sinks)
            set_destination_stats(waiting.state, waiting.count, rejected)
            yield from self.outbox.take()
            yield waiting.message

    def _echo_every_state(self) -> Iterator[AirbyteMessage]:
        """The input is over (or a job failed): wait for every STATE's steps and echo it —
        up to the first whose records a failed job held; then the failure is raised."""
        while self._states and not self._failed_before(self._states[0]):
            head = self._states[0]
            yield from self._echo(self._advance())
            if self._states and self._states[0] is head and self._busy(head.epoch):
                self._wait_one()
        if self._failure is not None:
            raise self._failure[1]

    def _checkpoint(self, final: bool = False) -> None:
        """Return only when everything received so far is in HubSpot (or rejected)."""
        self._flush()
        self._wait_all()
        self._submit_all(self.associations.lookup(final))
        self._wait_all()
        self._submit_all(self.associations.drain())
        self._wait_all()
        if final:
            self.associations.report_missing()

    def _flush(self) -> None:
        self._last_flush = time.monotonic()
        self.context.epoch = self._epoch
        for sink in self._open_sinks():
            self._submit_all(sink.drain())
        for part in self.parts:
            self._submit_all(part.drain())

    @property
    def completed_streams(self) -> frozenset[StreamKey]:
        """Streams a STATE (theirs, or a global one) covered after their last record."""
        return frozenset(s for s in self._stated if not self._records_since_state.get(s))

    def _post_sync(self) -> None:
        """After the final checkpoint, in one wave: what the sinks derive from complete
        streams, then every part's post-sync jobs (§8's reconciliation and §6's billing values
        are independent of one another: the roll-ups count only subscriptions that arrived,
        reconciliation touches only records that did not)."""
        completed = self.completed_streams
        for sink in self._open_sinks():
            self._submit_all(sink.finish(sink.stream in completed))
        end = SyncEnd.of(
            self._sinks,
            completed,
            {sink.stream: sink.kind for sink in self._open_sinks()},
            len(self.bad_input_lines),
        )
        for part in self.parts:
            self._submit_all(part.finish(end))
        self._wait_all()

    def _open_kinds(self) -> set[str]:
        return {sink.kind for sink in self._open_sinks()}

    def _open_sinks(self) -> list[Sink]:
        return [sink for sink in self._sinks.values() if sink is not None]

    # -- jobs -----------------------------------------------------------------------

    def _submit_all(self, jobs: Sequence[Job], epoch: int | None = None) -> None:
        for job in jobs:
            self._submit(job, epoch)

    def _submit_ready(self) -> None:
        while self._ready:
            ready, self._ready = self._ready, []
            for job, epoch in ready:
                self._close(epoch)
                self._submit(job, epoch)

    def _submit(self, job: Job, epoch: int | None = None) -> None:
        """Start ``job`` (of ``epoch``; None: of the records read now) once it may run."""
        # A record's newer version waits for the job carrying its older one: jobs
        # otherwise finish in any order.
        while any(key in self._key_jobs for key in job.keys):
            self._fold_next()
        while len(self._in_flight) >= self._max_in_flight:
            self._fold_next()
        self._start(job, self._epoch if epoch is None else epoch)

    def _start(self, job: Job, epoch: int) -> None:
        future = self._executor.submit(job.work)
        self._in_flight[future] = (job, epoch)
        self._open[epoch] += 1
        for key in job.keys:
            self._key_jobs[key] = future
        # The only thing a worker thread does for the loop: hand the finished future back.
        future.add_done_callback(self._finished.put)

    def _close(self, epoch: int) -> None:
        self._open[epoch] -= 1
        if not self._open[epoch]:
            del self._open[epoch]

    def _fold_next(self) -> None:
        """Wait for the next job to finish and fold it (log progress while waiting)."""
        while True:
            try:
                future = self._finished.get(timeout=max(self._progress_interval, 0.1))
            except queue.Empty:
                self._log_progress()
                continue
            self._fold(future)
            return

    def _fold_finished(self) -> None:
        while True:
            try:
                future = self._finished.get_nowait()
            except queue.Empty:
                return
            self._fold(future)

    def _fold(self, future: Future[Any]) -> None:
        job, epoch = self._in_flight.pop(future)
        self._close(epoch)
        for key in job.keys:
            if self._key_jobs.get(key) is future:
                del self._key_jobs[key]
        outer, self.context.epoch = self.context.epoch, epoch
        try:
            answered = job.fold(future.result())  # a worker's failure is raised here
        except Exception as error:
            # Kept, not raised: the STATEs before this job's records may still be echoed.
            if self._failure is None or epoch < self._failure[0]:
                self._failure = (epoch, error)
            return
        finally:
            self.context.epoch = outer
        for next_job in answered:
            if next_job.keys:
                self._start(next_job, epoch)  # the next step of the same records: its place
            else:
                self._ready.append((next_job, epoch))
                self._open[epoch] += 1

    def _wait_one(self) -> None:
        """Start what folds answered, and fold one job."""
        self._submit_ready()
        if self._in_flight:
            self._fold_next()
            if time.monotonic() - self._last_progress >= self._progress_interval:
                self._log_progress()

    def _wait_all(self) -> None:
        while self._in_flight or self._ready:
            self._wait_one()
            if self._failure is not None:
                raise self._failure[1]

    # -- the end --------------------------------------------------------------------

    def _finish(self) -> None:
        """After every state was echoed: store the rejected records, log the summary, and
        fail only for what §7 calls systemic (or input that was all unreadable)."""
        report = self.report
        for stream, lago_id, why in report.missing_associations[:MAX_LOGGED_REJECTIONS]:
            logger.warning("No association for %s %s: %s", stream, lago_id, why)
        warnings = self.context.field_watch.warnings()
        for text in warnings:
            logger.warning(text)
        storage_problem: StorageProblem | None = None
        stored = self._stored_where([])
        if self.store is not None:
            try:
                stored = self._stored_where(self.store.flush())
            except StorageProblem as problem:
                storage_problem = problem
                stored = f"NOT stored: {problem}"
        lines = report.rejection_lines(stored, self.bad_input_lines, warnings)
        logger.info("\n".join([report.summary(self.client.stats), *lines]))
        failure = self._systemic_failure()
        if failure is not None:
            raise RecordsRejected(
                failure + (f" Also: {storage_problem}" if storage_problem else "")
            )
        if storage_problem is not None:
            raise storage_problem

    def _keep_rejections(self) -> None:
        """On a fatal error: store the rejections collected so far (never masking the error)."""
        if self.store is None or not self.report.rejections:
            return
        try:
            logger.info("Rejected records %s", self._stored_where(self.store.flush()))
        except StorageProblem as problem:
            logger.error(str(problem))

    def _stored_where(self, keys: list[str]) -> str:
        if not self.report.rejections:
            return ""
        if self.config.dry_run:
            return "a dry run stores nothing"
        if self.store is None:
            return "not stored (set object_storage_config to keep them in a bucket)"
        bucket = self.store.storage.s3_bucket_name
        return "stored in " + ", ".join(f"s3://{bucket}/{key}" for key in keys)

    def _systemic_failure(self) -> str | None:
        """A sentence naming the stream and reason when a stream's every record was rejected
        for one reason (docs/product.md §7), or when no input line was a message; else None."""
        if self.bad_input_lines and not self._messages:
            lines = ", ".join(str(n) for n in self.bad_input_lines[:10])
            return (
                f"No input line was an Airbyte message ({len(self.bad_input_lines)} unreadable "
                f"line(s): lines {lines}): check what feeds write."
            )
        for sink in self._open_sinks():
            reason = sink.tally.systemic_reason()
            if reason is None:
                continue
            example = next(r for r in self.report.rejections if r.stream == sink.kind)
            records = f"{sink.tally.records} {sink.stream[1]}"
            return (
                f"Every one of the {records} records was rejected for the same reason "
                f"({reason}), which points at the setup (a HubSpot "
                f"property, a validation rule, the source), not at the data. First: "
                f"{example.line()}. Fix that and run the sync again; every other stream was "
                f"written and checkpointed."
            )
        return None
