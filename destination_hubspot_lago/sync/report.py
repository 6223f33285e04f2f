"""What a sync did: counters, rejected records, progress lines and the final summary.

Logs carry Lago ids and HubSpot's reasons, never record contents (PII) or secrets.
The report belongs to the pipeline's message loop: only that thread changes it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from ..hubspot import ClientStats, Pacer

logger = logging.getLogger("airbyte")

OBJECTS = ("companies", "contacts", "subscriptions", "invoices")
MAX_LOGGED_REJECTIONS = 1000  # beyond this, rejections are counted, not logged one by one
MAX_SUMMARY_REJECTIONS = 10  # the summary lists this many; the log has the rest
# A stream whose every record was rejected for one reason fails the sync (docs/product.md §7): a
# systemic fault (an admin rule, a property type), not bad data. Below this many records one
# reason for all of them may as well be chance.
SYSTEMIC_MIN_RECORDS = 5


@dataclass(frozen=True)
class Rejection:
    stream: str
    lago_id: str
    category: str
    message: str

    def line(self) -> str:
        return f"{self.stream} {self.lago_id}: {self.category}: {self.message}"


class StreamTally:
    """One stream's rejections (message loop thread only): how many since the last STATE
    that covered the stream, and by reason code across the sync.

    A rejection is counted for the STATE its record came before (its *epoch*: how many STATEs
    the loop had read when the record arrived), not for the next one echoed: the loop reads on
    while a STATE waits for its writes (``sync/loop.py``)."""

    def __init__(self) -> None:
        self.records = 0  # records of the stream this sync tried to write (not skipped)
        self.since_state: Counter[int] = Counter()  # epoch -> rejections not reported yet
        self.by_reason: Counter[str] = Counter()

    def rejected(self, reason_code: str, epoch: int = 0) -> None:
        self.since_state[epoch] += 1
        self.by_reason[reason_code] += 1

    def take_since_state(self, epoch: int | None = None) -> int:
        """The rejections of records that came before the STATE ending ``epoch`` (None: all),
        not reported for an earlier STATE; they are not reported again."""
        taken = [e for e in self.since_state if epoch is None or e <= epoch]
        return sum(self.since_state.pop(e) for e in taken)

    def systemic_reason(self) -> str | None:
        """The reason code when every record (at least SYSTEMIC_MIN_RECORDS) was rejected
        for it, else None."""
        if self.records < SYSTEMIC_MIN_RECORDS or len(self.by_reason) != 1:
            return None
        ((reason, count),) = self.by_reason.items()
        return reason if count >= self.records else None


class SyncReport:
    """Counters for one write (message loop thread only)."""

    def __init__(self, dry_run: bool = False) -> None:
        self.dry_run = dry_run
        self.started = time.monotonic()
        self.received: Counter[str] = Counter()  # per stream kind
        self.skipped: Counter[str] = Counter()
        self.created: Counter[str] = Counter()  # per HubSpot object
        self.updated: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.adopted_contacts = 0
        self.associations = 0
        # docs/product.md §10: records (per HubSpot object) and associations the ledger shows
        # as HubSpot holds them already, so not written
        self.unchanged: Counter[str] = Counter()
        self.unchanged_associations = 0
        self.tracking_line = ""  # how this sync used the ledger (change tracking on)
        self.failed_associations = 0
        self.rejections: list[Rejection] = []  # rejected records (never associations)
        self.refused_associations: list[Rejection] = []  # the record is in HubSpot, its link not
        self.missing_associations: list[tuple[str, str, str]] = []  # (stream, lago id, why)
        # further summary lines, added by post-sync steps (billing values, terminated subscriptions)
        self.summary_lines: list[str] = []

    def wrote(self, obj: str, created: bool) -> None:
        (self.created if created else self.updated)[obj] += 1

    def reject(self, stream: str, obj: str, lago_id: str, category: str, message: str) -> None:
        rejection = Rejection(stream, lago_id, category, message)
        self.rejected[obj] += 1
        self.rejections.append(rejection)
        if len(self.rejections) <= MAX_LOGGED_REJECTIONS:
            logger.error("Rejected %s", rejection.line())

    def reject_association(self, stream: str, lago_id: str, reason: str) -> None:
        """HubSpot refused an association: the record is written, its link is not."""
        rejection = Rejection(stream, lago_id, "ASSOCIATION_FAILED", reason)
        self.refused_associations.append(rejection)
        self.failed_associations += 1
        logger.error("Association refused for %s", rejection.line())

    def missing_association(self, stream: str, lago_id: str, why: str) -> None:
        self.missing_associations.append((stream, lago_id, why))

    @property
    def written(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())

    def progress_line(self, stats: ClientStats, pacer: Pacer) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        received = sum(self.received.values())
        budget, window = pacer.budget
        return (
            f"Progress: {received} records received, {self.written} written, "
            f"{sum(self.rejected.values())} rejected, {sum(self.skipped.values())} skipped, "
            f"{received / elapsed:.0f} records/s, {stats.calls} API calls, "
            f"pacing {budget} per {window / 1000:g} s, {stats.rate_limited} 429s"
        )

    def summary(self, stats: ClientStats) -> str:
        elapsed = time.monotonic() - self.started
        head = "Dry run plan (nothing was written)" if self.dry_run else "Sync summary"
        created = "would create" if self.dry_run else "created"
        updated = "would update" if self.dry_run else "updated"
        rows = [f"{'object':<14}{created:>14}{updated:>14}{'rejected':>10}"]
        for obj in OBJECTS:
            rows.append(
                f"{obj:<14}{self.created[obj]:>14}{self.updated[obj]:>14}{self.rejected[obj]:>10}"
            )
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return "\n".join(
            [
                f"{head}:",
                *rows,
                f"associations {'planned' if self.dry_run else 'made'}: {self.associations}; "
                f"refused: {self.failed_associations}; "
                f"missing (customer not found): {len(self.missing_associations)}; "
                f"contacts adopted by email: {self.adopted_contacts}",
                f"skipped (not synced by rule): {skipped}",
                *self._unchanged_lines(),
                *self.summary_lines,
                f"API calls: {stats.calls}; retries: {stats.retries}; 429s: {stats.rate_limited}; "
                f"elapsed: {elapsed:.1f} s",
            ]
        )

    def _unchanged_lines(self) -> list[str]:
        if not self.tracking_line:
            return []
        unchanged = sum(self.unchanged.values())
        verb = "would skip" if self.dry_run else "not written"
        by_object = ", ".join(f"{o} {self.unchanged[o]}" for o in OBJECTS if self.unchanged[o])
        return [
            self.tracking_line,
            f"unchanged since the last sync ({verb}): {unchanged} records"
            + (f" ({by_object})" if by_object else "")
            + f", {self.unchanged_associations} associations",
        ]

    def rejection_lines(
        self, stored: str | None, unreadable_lines: list[int], warnings: list[str]
    ) -> list[str]:
        """Summary lines on rejected records (by stream, the first ones with Lago id and
        reason, where they were stored), refused associations, unreadable input and warnings
        about the input. ``stored``: where the rejected records went, None when nowhere."""
        lines = []
        by_stream = Counter(r.stream for r in self.rejections)
        if self.rejections:
            streams = ", ".join(f"{k} {v}" for k, v in sorted(by_stream.items()))
            head = f"rejected records: {len(self.rejections)} ({streams})"
            lines.append(head + (f"; {stored}" if stored else ""))
            shown = self.rejections[:MAX_SUMMARY_REJECTIONS]
            more = len(self.rejections) - len(shown)
            lines.append(
                "first rejections (stream, Lago id, HubSpot's category and reason):"
                + (f" ({more} more in the log)" if more > 0 else "")
            )
            lines += [f"  {r.line()}" for r in shown]
        if self.refused_associations:
            lines.append(
                f"associations refused (the records are in HubSpot, not linked; not rejected "
                f"records): {len(self.refused_associations)}"
            )
            lines += [f"  {r.line()}" for r in self.refused_associations[:MAX_SUMMARY_REJECTIONS]]
        if unreadable_lines:
            numbers = ", ".join(str(n) for n in unreadable_lines[:10])
            etc = "…" if len(unreadable_lines) > 10 else ""
            lines.append(
                f"unreadable input lines (not Airbyte messages, of no stream, so not in any "
                f"state's count): {len(unreadable_lines)} (lines {numbers}{etc})"
            )
        lines += [f"warning: {text}" for text in warnings]
        return lines
