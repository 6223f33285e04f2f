"""A sync part: a feature that rides along the per-stream writes and finishes after them.

The billing values (``billing/job.py``, docs/product.md §6) and the terminated subscriptions
(``terminations/job.py``, §8) are sync parts. The loop knows neither: the connector (the
composition root) hands it a list of parts, and the loop and the sinks call every part at the
same points, on the message loop thread, in the order of a part's life:

1. :meth:`SyncPart.start` — once, before the first message, with the stream kinds the sync
   consumes.
2. The observations, as the loop sees them: :meth:`~SyncPart.record` (every record of a stream
   the sync consumes, skipped ones too), :meth:`~SyncPart.customer_written` (a customer's write
   was folded), :meth:`~SyncPart.synced` / :meth:`~SyncPart.not_synced` (a subscription or
   invoice was written, or skipped or rejected).
3. :meth:`SyncPart.drain` — at every checkpoint: jobs for what the part holds, so that a STATE
   is echoed only once they are folded.
4. :meth:`SyncPart.finish` — once, after the final checkpoint, with what the loop knows of the
   streams (:class:`SyncEnd`): the post-sync jobs. Their folds may answer further jobs.
5. :meth:`SyncPart.summary` — the part's lines for the sync summary. It closes nothing.
6. :meth:`SyncPart.close` — always, also after a failure: drop what the part keeps (temporary
   files). Idempotent.

A part's jobs follow the rule of every job (``sync/jobs.py``): ``work`` does HTTP on a worker
and returns; only ``fold``, on the loop, touches the part's state.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .jobs import NO_JOBS, Job, StreamKey


@dataclass(frozen=True)
class SyncStart:
    kinds: frozenset[str]  # the stream kinds this sync consumes (catalog, switched on)
    from_catalog: bool  # False: no configured catalog, the kinds are those seen so far
    # Jobs the loop runs at once (its workers): a part whose post-sync jobs come one after
    # another keeps this many of them going, so that its lane, not the loop, is the limit.
    concurrency: int = 1


@dataclass(frozen=True)
class SyncEnd:
    """What the loop knows once the input is over and every STATE was echoed."""

    streams: frozenset[StreamKey]  # every stream of this sync (catalog and seen)
    completed: frozenset[StreamKey]  # those a STATE covered after their last record
    kinds: frozenset[str]  # the stream kinds this sync consumed
    complete_kinds: frozenset[str]  # kinds every stream of which was completed
    unreadable_lines: int = 0  # input lines that were not messages

    @classmethod
    def of(
        cls,
        streams: Collection[StreamKey],
        completed: Collection[StreamKey],
        kinds_of: Mapping[StreamKey, str],
        unreadable_lines: int = 0,
    ) -> SyncEnd:
        """``kinds_of``: the kind of each stream the sync consumed."""
        kinds = frozenset(kinds_of.values())
        incomplete = {kind for stream, kind in kinds_of.items() if stream not in completed}
        return cls(
            streams=frozenset(streams),
            completed=frozenset(completed),
            kinds=kinds,
            complete_kinds=kinds - incomplete,
            unreadable_lines=unreadable_lines,
        )


class SyncPart:
    """Every hook of a part's life; a part overrides those it needs (the rest do nothing)."""

    def start(self, start: SyncStart) -> None:
        """Before the first message."""

    def record(self, kind: str, data: Mapping[str, Any]) -> None:
        """A record of a stream the sync consumes (``kind``: customers, subscriptions …)."""

    def customer_written(
        self, lago_id: str, obj: str, hubspot_id: str | None, created: bool
    ) -> None:
        """A customer is in HubSpot as ``obj`` (companies or contacts); ``hubspot_id`` None:
        a record a dry run would create."""

    def synced(self, kind: str, lago_id: str, hubspot_id: str | None) -> None:
        """A subscription or invoice is in HubSpot with the id its write answered (None: a
        record a dry run would create)."""

    def not_synced(self, kind: str, lago_id: str) -> None:
        """A subscription or invoice was skipped by the status rules or rejected."""

    def drain(self) -> Sequence[Job]:
        """At a checkpoint: jobs for what must be in HubSpot before the STATE is echoed."""
        return NO_JOBS

    def finish(self, end: SyncEnd) -> Sequence[Job]:
        """After the final checkpoint: the post-sync jobs."""
        return NO_JOBS

    def summary(self) -> list[str]:
        """Lines for the sync summary, once ``finish``'s jobs were folded. Closes nothing."""
        return []

    def close(self) -> None:
        """Drop what the part keeps; called once the sync ended, however it ended."""
