"""docs/product.md §10 around a sync: which ledger is in force, and the new one saved.

:func:`begin` runs before the first message, on the thread that runs the sync: it loads the
ledger of this portal and connection from the store, decides whether this sync may trust it
(else a *full rewrite*, one log line saying why), and reads the drift guard's sample back.
:meth:`Tracking.save` runs once the sync succeeded, after its final STATE: the new ledger
becomes a new object in the store, then the pointer moves to it. Any problem with the store
at either end is a warning, never a failed sync: HubSpot has the data, and a sync without a
ledger it can trust simply writes everything.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..hubspot import HubSpotError
from ..hubspot.batches import Writer
from ..records.base import MappingSettings
from .drift import compare
from .ledger import PLAN, RECORD, ROLLUP, Ledger, LedgerFileProblem, Witness
from .store import LedgerHeader, LedgerStorageProblem, LedgerStore, scope_of

logger = logging.getLogger("airbyte")

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class SyncIdentity:
    """What a ledger must have been written for to be trusted by this sync."""

    portal_id: str
    connection_code: str
    model_version: str
    generation_id: int | None  # the catalog's (an Airbyte Refresh raises it)


@dataclass
class Tracking:
    """The ledger of one sync (owned by the thread that runs it), and where it goes."""

    ledger: Ledger
    store: LedgerStore
    identity: SyncIdentity
    workdir: Path
    line: str  # what this sync does with the ledger, for the summary
    settings: MappingSettings  # what this sync maps with (the raw digests are made with it)
    dry_run: bool = False
    # When this ledger's full rewrite ran (carried on from the ledger trusted); None: this
    # sync is the full rewrite.
    rewritten_at: str | None = None

    @property
    def scope(self) -> str:
        return scope_of(self.identity.portal_id, self.identity.connection_code)

    def save(self, now: datetime | None = None) -> None:
        """After the final STATE of a sync that succeeded; a dry run saves nothing."""
        if self.dry_run:
            return
        written_at = (now or datetime.now(UTC)).strftime(TIME_FORMAT)
        identity = self.identity
        try:
            path = self.ledger.finish()
            header = LedgerHeader(
                portal_id=identity.portal_id,
                connection_code=identity.connection_code,
                model_version=identity.model_version,
                generation_id=identity.generation_id,
                written_at=written_at,
                entries=self.ledger.entries,
                rewritten_at=self.rewritten_at or written_at,
            )
            self.store.save(self.scope, header, path)
        except Exception as problem:  # noqa: BLE001 - the store's, the disk's, SQLite's: a warning
            logger.warning(
                "Change tracking: the ledger of this sync could not be saved (%s). HubSpot has "
                "every record; the next sync writes all of them again.",
                _reason(problem),
            )
            return
        logger.info(
            "Change tracking: ledger of %d entries saved to %s.", header.entries, self.store.where
        )

    def close(self) -> None:
        self.ledger.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def begin(
    store: LedgerStore,
    identity: SyncIdentity,
    full_rewrite_every_days: int,
    writer: Writer,
    settings: MappingSettings,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Tracking:
    """The ledger this sync may trust, or a full rewrite (logged, with why)."""
    workdir = Path(tempfile.mkdtemp(prefix="hubspot-lago-ledger-"))
    previous = workdir / "ledger-previous.sqlite"
    scope = scope_of(identity.portal_id, identity.connection_code)
    why: str | None
    header: LedgerHeader | None = None
    try:
        header = store.load(scope, previous)
        why = _distrust(header, identity, full_rewrite_every_days, now or datetime.now(UTC))
    except (LedgerStorageProblem, OSError) as problem:
        logger.warning(
            "Change tracking: the ledger in %s could not be read (%s); this sync writes every "
            "record.",
            store.where,
            _reason(problem),
        )
        why = "the ledger could not be read"
    ledger: Ledger | None = None
    salt = repr(settings)
    if why is None:
        try:
            ledger = Ledger(
                previous,
                workdir,
                identity.model_version,
                saving=not dry_run,
                mapping_settings=salt,
            )
        except LedgerFileProblem as problem:
            why = str(problem)
    if ledger is not None and header is not None:
        drift = _check_drift(ledger, writer)
        if drift is not None:
            ledger.close()
            ledger, why = None, drift
    if ledger is None:
        ledger = Ledger(
            None, workdir, identity.model_version, saving=not dry_run, mapping_settings=salt
        )
        line = f"change tracking: full rewrite, because {why}"
        logger.info("Change tracking: this sync writes every record, because %s.", why)
    rewritten_at = None
    if why is None:
        assert header is not None
        rewritten_at = header.rewritten_at or header.written_at
        line = (
            f"change tracking: records as the sync of {header.written_at} left them "
            f"({header.entries} ledger entries) are not written again"
        )
    return Tracking(
        ledger, store, identity, workdir, line, settings, dry_run=dry_run, rewritten_at=rewritten_at
    )


def _distrust(
    header: LedgerHeader | None, identity: SyncIdentity, every_days: int, now: datetime
) -> str | None:
    """Why this sync may not trust the ledger (a full rewrite), or None."""
    if header is None:
        return "there is no ledger yet (a first sync, or the ledger was lost)"
    if header.portal_id != identity.portal_id:
        return f"the ledger is of another HubSpot portal ({header.portal_id})"
    if header.connection_code != identity.connection_code:
        return "the ledger is of another connection_code"
    if header.model_version != identity.model_version:
        return "the connector's mapping or model changed since the ledger was written"
    current, previous = identity.generation_id, header.generation_id
    if current is not None and (previous is None or current > previous):
        return "the connection was refreshed in Airbyte (its generation_id rose)"
    try:
        datetime.strptime(header.written_at, TIME_FORMAT)
        rewritten = header.rewritten_at or header.written_at  # older pointers: written_at
        written = datetime.strptime(rewritten, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return "the ledger's date is unreadable"
    age_days = (now - written).total_seconds() / 86400
    if every_days and age_days >= every_days:
        return (
            f"the last full rewrite is {age_days:.1f} days old (full_rewrite_every_days is "
            f"{every_days})"
        )
    return None


def _check_drift(ledger: Ledger, writer: Writer) -> str | None:
    """Read the sample back; distrust what changed in HubSpot. A reason for a full rewrite
    when too much of it did, else None. A read HubSpot refuses distrusts nothing: the sync
    goes on with the ledger (the sample is a guard, not the source of truth)."""
    witnesses = ledger.previous_witnesses()
    by_obj: dict[str, list[Witness]] = defaultdict(list)
    for witness in witnesses:
        by_obj[witness.obj].append(witness)
    held = {}
    for obj, sample in by_obj.items():
        if not writer.deployed(obj):
            continue
        names = sorted({name for w in sample for name in w.properties})
        try:
            held[obj] = writer.read(obj, [w.target for w in sample], None, names)
        except HubSpotError as error:
            logger.warning("Change tracking: could not read back %s (%s).", obj, error)
            return None
    checked = [w for w in witnesses if w.obj in held]
    result = compare(checked, held)
    if result.too_many:
        return (
            f"{len(result.mismatched)} of {result.sampled} records read back from HubSpot "
            "were deleted or edited there since the last sync"
        )
    if result.mismatched:
        logger.info(
            "Change tracking: %d of %d records read back were deleted or edited in HubSpot; "
            "they are written again.",
            len(result.mismatched),
            result.sampled,
        )
        ledger.distrust(
            (w.obj, w.lago_id, facet) for w in result.mismatched for facet in (RECORD, ROLLUP, PLAN)
        )
    return None


def _reason(problem: BaseException) -> str:
    return str(problem) or type(problem).__name__
