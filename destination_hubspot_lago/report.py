"""What a sync did: counters, rejected records, progress lines and the final summary.

Logs carry Lago ids and HubSpot's reasons, never record contents (PII) or secrets.
The report belongs to the pipeline's message loop: only that thread changes it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from .hubspot import ClientStats, Pacer

logger = logging.getLogger("airbyte")

OBJECTS = ("companies", "contacts", "subscriptions", "invoices")
MAX_LOGGED_REJECTIONS = 1000  # beyond this, rejections are counted, not logged one by one


@dataclass(frozen=True)
class Rejection:
    stream: str
    lago_id: str
    category: str
    message: str

    def line(self) -> str:
        return f"{self.stream} {self.lago_id}: {self.category}: {self.message}"


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
        self.failed_associations = 0
        self.rejections: list[Rejection] = []
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
        self.rejections.append(rejection)
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
                *self.summary_lines,
                f"API calls: {stats.calls}; retries: {stats.retries}; 429s: {stats.rate_limited}; "
                f"elapsed: {elapsed:.1f} s",
            ]
        )
