"""When a sync may trust the stored ledger, and when it rewrites everything (docs/product.md
§10), through ``changes.tracking.begin`` with an in-memory store."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from destination_hubspot_lago.changes import tracking
from destination_hubspot_lago.changes.ledger import RECORD, Ledger
from destination_hubspot_lago.changes.store import LedgerHeader, LedgerStorageProblem
from destination_hubspot_lago.records.base import MappingSettings

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
IDENTITY = tracking.SyncIdentity("62515", "eu", "0.2.0+abc", 3)


class MemoryStore:
    where = "memory"

    def __init__(self, header: LedgerHeader | None, file: Path | None, broken: bool = False):
        self.header, self.file, self.broken = header, file, broken
        self.saved: list[LedgerHeader] = []

    def probe(self) -> None:
        pass

    def load(self, scope: str, into: Path) -> LedgerHeader | None:
        if self.broken:
            raise LedgerStorageProblem("change_tracking.path: cannot read")
        if self.header is None or self.file is None:
            return None
        shutil.copyfile(self.file, into)
        return self.header

    def save(self, scope: str, header: LedgerHeader, file: Path) -> LedgerHeader:
        self.saved.append(header)
        return header


class NoReads:
    """A writer for a ledger without witnesses: the drift guard reads nothing."""

    dry_run = False

    def deployed(self, obj):
        return True

    def read(self, *args, **kwargs):
        raise AssertionError("nothing to read back")


@pytest.fixture
def previous(tmp_path) -> Path:
    work = tmp_path / "prev"
    work.mkdir()
    ledger = Ledger(None, work, IDENTITY.model_version)
    ledger.confirm("invoices", "i1", RECORD, "1", ledger.digest({"a": "1"}))
    return ledger.finish()


def header(**changes) -> LedgerHeader:
    base = LedgerHeader("62515", "eu", "0.2.0+abc", 3, "2026-12-05T12:00:00Z", 1, "x.sqlite")
    return replace(base, **changes)


SETTINGS = MappingSettings(
    default_targeted_object="companies",
    connection_code="eu",
    lago_front_url="https://app.getlago.com",
    lago_organization_slug=None,
    today=NOW.date(),
)


def begun(store, every_days=7, identity=IDENTITY):
    return tracking.begin(store, identity, every_days, NoReads(), SETTINGS, now=NOW)


def test_a_ledger_of_this_portal_connection_and_model_is_trusted(previous):
    run = begun(MemoryStore(header(), previous))
    ledger = run.ledger
    assert ledger.unchanged("invoices", "i1", RECORD, ledger.digest({"a": "1"})) == "1"
    assert "not written again" in run.line
    run.close()


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"portal_id": "1"}, "another HubSpot portal"),
        ({"connection_code": "us"}, "another connection_code"),
        ({"model_version": "0.1.0+old"}, "mapping or model changed"),
        ({"generation_id": 2}, "generation_id rose"),
        ({"generation_id": None}, "generation_id rose"),
        ({"written_at": "2026-11-28T12:00:00Z"}, "8.0 days old"),
        ({"written_at": "yesterday"}, "date is unreadable"),
    ],
)
def test_a_ledger_it_cannot_trust_means_a_full_rewrite(previous, changes, why):
    run = begun(MemoryStore(header(**changes), previous))
    assert why in run.line and "full rewrite" in run.line
    assert run.ledger.unchanged("invoices", "i1", RECORD, run.ledger.digest({"a": "1"})) is None
    run.close()


def test_full_rewrite_every_0_days_is_never(previous):
    run = begun(MemoryStore(header(written_at="2020-01-01T00:00:00Z"), previous), every_days=0)
    assert "full rewrite" not in run.line
    run.close()


def test_no_ledger_and_an_unreadable_store_mean_a_full_rewrite(previous):
    assert "no ledger yet" in begun(MemoryStore(None, None)).line
    assert "could not be read" in begun(MemoryStore(header(), previous, broken=True)).line


def test_a_dry_run_never_saves(previous):
    store = MemoryStore(header(), previous)
    run = tracking.begin(store, IDENTITY, 7, NoReads(), SETTINGS, dry_run=True, now=NOW)
    run.save(NOW)
    assert store.saved == []
    live = begun(store)
    live.save(NOW)
    assert [h.portal_id for h in store.saved] == ["62515"]
    assert store.saved[0].generation_id == 3 and store.saved[0].written_at == "2026-12-06T12:00:00Z"


def test_full_rewrite_every_days_counts_from_the_full_rewrite_not_from_the_last_save(previous):
    # Saved yesterday by an incremental sync; the full rewrite it descends from is 8 days old.
    old = header(written_at="2026-12-05T12:00:00Z", rewritten_at="2026-11-28T12:00:00Z")
    run = begun(MemoryStore(old, previous))
    assert "8.0 days old" in run.line and "full rewrite" in run.line
    run.close()
    recent = header(written_at="2026-12-05T12:00:00Z", rewritten_at="2026-12-01T12:00:00Z")
    run = begun(MemoryStore(recent, previous))
    assert "full rewrite" not in run.line
    run.close()


def test_a_save_carries_the_full_rewrite_date_on_and_a_full_rewrite_sets_it(previous):
    store = MemoryStore(header(rewritten_at="2026-12-01T12:00:00Z"), previous)
    trusted = begun(store)
    trusted.save(NOW)
    trusted.close()
    assert store.saved[-1].written_at == "2026-12-06T12:00:00Z"
    assert store.saved[-1].rewritten_at == "2026-12-01T12:00:00Z"  # carried on
    store.header = header(portal_id="1")  # distrusted: this sync is a full rewrite
    rewrite = begun(store)
    rewrite.save(NOW)
    rewrite.close()
    assert store.saved[-1].rewritten_at == "2026-12-06T12:00:00Z"
    store.header = header(rewritten_at="")  # a pointer from before the field: written_at
    carried = begun(store)
    carried.save(NOW)
    carried.close()
    assert store.saved[-1].rewritten_at == "2026-12-05T12:00:00Z"
