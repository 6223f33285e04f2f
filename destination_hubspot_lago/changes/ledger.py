"""docs/product.md §10's ledger: what the last successful sync confirmed in HubSpot, and what
this sync confirms.

A ledger is one SQLite file. Each entry is one *facet* of one Lago record as HubSpot holds
it — the record's properties, its association with its customer, a customer's roll-ups, a
subscription's late plan values, an invoice ↔ subscription link — keyed by a 64-bit hash of
(HubSpot object, Lago id, facet) and holding the HubSpot id it was written to (the *target*)
and a 64-bit digest of exactly what was sent (with the model version, so a new mapping
changes every digest). Nothing else: the ledger holds no record contents, so no PII, except
the few *witnesses* the drift guard reads back (``witness`` table, ≤ 100 per object).

:class:`Ledger` is owned by the message loop. It reads the previous file (a lookup per
record, or one query for many with :meth:`Ledger.previous_of`; on disk: a ledger of a million
entries is not a million Python objects) and builds
the new one in a private copy of it, in batched writes — so an unchanged record costs a
lookup and nothing else:

* :meth:`Ledger.unchanged` — this facet's digest (and target, when the caller knows it)
  equals the previous sync's: the caller makes no call; the entry stays. Answers the target,
  the HubSpot id the previous sync confirmed.
* :meth:`Ledger.confirm` — HubSpot confirmed a write (200/201, or the written part of a
  207). Only this puts a changed entry in the new ledger: a rejected record, a dry run's
  plan, a write that failed stay out, so the next sync sends them again.
* :meth:`Ledger.forget` — this sync's last version of an entry was rejected, or §8 changed
  the record (marked it terminated): the entry leaves the ledger.

Entries of records that did not arrive stay as they are (HubSpot still holds what they say),
until a full rewrite starts a ledger from nothing.

The new ledger is handed to the store only after the final STATE of a sync that succeeded
(``changes/tracking.py``); a sync that failed leaves the previous one in force.

A hash collision between two keys can only make an entry look changed (its digest differs),
so it costs a write, never a record.
"""

from __future__ import annotations

import math
import random
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import xxhash

# The facets of a record HubSpot holds (the third part of a key).
RECORD = 0  # its properties (target: the record)
# (1 was the association; it lives in the RECORD entry's ``assoc`` column)
ROLLUP = 2  # a customer's roll-ups (target: the company or contact)
PLAN = 3  # a subscription's plan values written after it (target: the subscription)
LINK = 4  # an invoice ↔ subscription association (target: the invoice; digest: the subscription)
# a customer's subscriptions as §8 reconciled them (digest: the set of their Lago ids)
SUBSCRIPTION_SET = 5

WITNESSES = 100  # per object: what the drift guard reads back (one batch/read)
FLUSH_ROWS = 2000  # inserts batched this many at a time
MANY = 500  # keys looked up in one query by ``unchanged_all``

# key: entry_key(); target: the HubSpot id written to; digest: of what was sent. A record's
# properties facet also keeps the digest of the Lago record it was mapped from (``raw``, with
# the mapping's settings and day: the same raw record maps to the same properties) and of its
# association with its customer (``assoc``).
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key INTEGER PRIMARY KEY, target TEXT, digest INTEGER, raw INTEGER, assoc INTEGER
);
CREATE TABLE IF NOT EXISTS witness (obj TEXT, target TEXT, lago_id TEXT, properties TEXT);
"""


# How keys and digests are made: XXH3's 64 bits (the ``xxhash`` package), which reads a 2 KB
# record some five times faster than SHA-256 and keeps the GIL (its one-shot functions do not
# let go of it, so the message loop never waits for a thread switch while hashing). Not a
# cryptographic hash: a collision between two keys costs a write (see above), and a changed
# record whose digest equals its old one by chance is a 2**-64 event, not one anybody can aim
# for through their own billing data. In the model version (``connector.model_version``), so a
# ledger made another way (SHA-256, before) is not trusted.
DIGESTS = "xxh3-64"

_xxh3 = xxhash.xxh3_64_intdigest
_SIGNED = 1 << 63  # SQLite's INTEGER is signed: [0, 2**64) shifted to [-2**63, 2**63)


def _int64(data: bytes, seed: int = 0) -> int:
    return _xxh3(data, seed) - _SIGNED


def entry_key(obj: str, lago_id: str, facet: int) -> int:
    return _int64(f"{obj}\x1f{lago_id}\x1f{facet}".encode())


class LedgerFileProblem(Exception):
    """The previous ledger file is not a ledger (the sync then rewrites everything)."""


_LOOKUP = "SELECT target, digest, raw, assoc FROM entries WHERE key = ?"
_LOOKUPS: dict[int, str] = {}  # previous_of's query by the number of keys


class Previous(NamedTuple):
    """An entry of the previous ledger."""

    target: str  # the HubSpot id
    digest: int
    raw: int | None = None  # RECORD: the Lago record's digest (``Ledger.raw_digest``)
    assoc: int | None = None  # RECORD: its association's (``Ledger.association_digest``)


_tuple_new = tuple.__new__


def confirms(previous: Previous, digest: int, target: str | None) -> bool:
    """The previous sync confirmed this digest (and this target, when one is given)."""
    return previous.digest == digest and (target is None or previous.target == target)


@dataclass(frozen=True)
class Witness:
    obj: str
    target: str  # the HubSpot id
    lago_id: str
    properties: Mapping[str, str]  # exactly what was sent


class Ledger:
    """The previous sync's confirmed entries (read) and this sync's (built); loop thread.

    ``previous``: the previous ledger's file, or None (a full rewrite: nothing is unchanged).
    ``saving``: False for a dry run, which reads the ledger (to count what it would skip)
    and confirms nothing.
    """

    def __init__(
        self,
        previous: Path | None,
        workdir: Path,
        model_version: str,
        *,
        saving: bool = True,
        seed: int | None = None,
        mapping_settings: str = "",
    ) -> None:
        self.model_version = model_version.encode()
        # what a Lago record maps with besides itself (settings, the day): in its raw digest
        self._salt = self.model_version + mapping_settings.encode() + b"\x1f"
        self._salt_seed = _xxh3(self._salt)
        self.saving = saving
        self.path = workdir / "ledger-new.sqlite"
        self._previous = previous
        self._old: sqlite3.Connection | None = None
        self._new: sqlite3.Connection | None = None
        if previous is not None:
            try:
                # immutable: nothing else writes it, so no lock nor change check per query
                self._old = sqlite3.connect(f"file:{previous}?mode=ro&immutable=1", uri=True)
                self._old.execute("PRAGMA cache_size=-16384")  # 16 MB of pages at most
                self._cursor = self._old.cursor()
                self._old.execute("SELECT key, target, digest, raw, assoc FROM entries LIMIT 1")
            except sqlite3.Error as exc:
                self.close()
                raise LedgerFileProblem(f"the stored ledger is not readable ({exc})") from None
        # waiting to be written, in order: an entry (target None: deleted) by key, then column
        # updates of entries (raw, assoc)
        self._rows: dict[int, tuple[int, str | None, int, int | None]] = {}
        self._raw_updates: list[tuple[int, int]] = []
        self._assoc_updates: list[tuple[int, int]] = []
        self._distrusted: set[int] = set()  # keys the drift guard found changed in HubSpot
        self._random = random.Random(seed)
        self._witnesses: dict[str, list[Witness]] = {}
        # per object: records offered so far, the next one the sample takes, and Algorithm L's
        # weight (the sample's uniform without a random draw per record)
        self._sampling: dict[str, list[float]] = {}
        self.entries = 0  # rows put in the new ledger (carried or confirmed)

    @property
    def has_previous(self) -> bool:
        return self._old is not None

    # -- digests --------------------------------------------------------------------

    def digest(self, value: Any) -> int:
        """Of exactly what a write sends (a mapping: properties; a tuple: ids), with the
        model version."""
        return _int64(self.model_version + orjson.dumps(value, option=orjson.OPT_SORT_KEYS))

    def raw_digest(
        self,
        data: Mapping[str, Any],
        line: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> int:
        """Of a Lago record as received, with what the mapping takes besides it: equal raw
        digests map to equal properties. ``line``: the digest of the input line it came in
        (``airbyte.incoming.record_digest``), which holds the record already: then ``data``
        is not serialised again. ``extra``: what the record maps with from other records (a
        subscription's plan values), if anything."""
        if line is not None:
            digest = _int64(self._salt, line)
        else:
            # Keys in the order received: the same source sends the same order, and another
            # order only costs a mapping (then the properties' digest decides).
            digest = _int64(orjson.dumps(data), self._salt_seed)
        if extra:
            # seeded by the record's digest (made unsigned again); the extra's keys sorted
            return _int64(orjson.dumps(extra, option=orjson.OPT_SORT_KEYS), digest + _SIGNED)
        return digest

    @staticmethod
    def association_digest(record_id: str, customer_obj: str, customer_id: str | None) -> int:
        """Of an association: both ends' HubSpot ids (a record created again is a new end)."""
        return _int64(f"{record_id}\x1f{customer_obj}\x1f{customer_id}".encode())

    # -- this sync ------------------------------------------------------------------

    def previous(self, obj: str, lago_id: str, facet: int = RECORD) -> Previous | None:
        """The previous sync's entry (None: none, or the drift guard distrusts it)."""
        old = self._old
        if old is None:
            return None
        key = entry_key(obj, lago_id, facet)
        if key in self._distrusted:
            return None
        row = self._cursor.execute(_LOOKUP, (key,)).fetchone()
        if row is None or row[0] is None:
            return None
        # target is a TEXT column: a str; the row as the tuple it is, without a Python call
        return _tuple_new(Previous, row)

    def previous_of(
        self, obj: str, lago_ids: Iterable[str], facet: int = RECORD
    ) -> dict[str, Previous]:
        """``previous`` of many records in one query: Lago id -> the previous sync's entry,
        for those that have one. (Of two Lago ids whose keys collide, one is left out: it
        looks changed, which costs a write, never a record.)"""
        if self._old is None:
            return {}
        distrusted = self._distrusted
        ids_of: dict[int, str] = {}
        for lago_id in lago_ids:
            key = entry_key(obj, lago_id, facet)
            if key not in distrusted:
                ids_of[key] = lago_id
        return {ids_of[key]: entry for key, entry in self._entries(list(ids_of))}

    def unchanged_all(
        self, facet: int, entries: Iterable[tuple[str, str, int, str | None]]
    ) -> set[tuple[str, str]]:
        """``unchanged`` of many (object, Lago id, digest, target) at once, MANY to a query:
        the (object, Lago id) of those whose entry is unchanged (for a sync's end, where each
        customer's roll-ups or subscriptions would cost a query of their own)."""
        if self._old is None:
            return set()
        distrusted, same = self._distrusted, set()
        wanted = list(entries)
        for start in range(0, len(wanted), MANY):
            of_key: dict[int, tuple[str, str, int, str | None]] = {}
            for entry in wanted[start : start + MANY]:
                key = entry_key(entry[0], entry[1], facet)
                if key not in distrusted:
                    of_key[key] = entry
            for key, previous in self._entries(list(of_key)):
                obj, lago_id, digest, target = of_key[key]
                if confirms(previous, digest, target):
                    same.add((obj, lago_id))
        return same

    def _entries(self, keys: list[int]) -> Iterator[tuple[int, Previous]]:
        """(key, entry) of the previous ledger's entries of ``keys`` that hold a target."""
        if not keys:
            return
        query = _LOOKUPS.get(len(keys))
        if query is None:
            marks = ", ".join("?" * len(keys))
            query = _LOOKUPS[len(keys)] = (
                f"SELECT key, target, digest, raw, assoc FROM entries WHERE key IN ({marks})"
            )
        for key, *entry in self._cursor.execute(query, keys):
            if entry[0] is not None:
                yield key, _tuple_new(Previous, entry)

    def unchanged(
        self, obj: str, lago_id: str, facet: int, digest: int, target: str | None = None
    ) -> str | None:
        """The HubSpot id the previous sync confirmed for this facet, when it confirmed the
        same ``digest`` (and ``target``, when given): the caller skips the write; the entry
        stays (the new ledger starts as a copy of the previous). None: write it."""
        row = self.previous(obj, lago_id, facet)
        return row.target if row is not None and confirms(row, digest, target) else None

    def confirm(
        self,
        obj: str,
        lago_id: str,
        facet: int,
        target: str | None,
        digest: int,
        raw: int | None = None,
    ) -> None:
        """HubSpot confirmed this write (``target``: the HubSpot id it answered; ``raw``: the
        digest of the Lago record it was mapped from, for a record's properties)."""
        if self.saving and target is not None:
            self._put(entry_key(obj, lago_id, facet), target, digest, raw)

    def confirm_association(self, obj: str, lago_id: str, digest: int) -> None:
        """HubSpot made the record's association with its customer."""
        if self.saving:
            self._assoc_updates.append((digest, entry_key(obj, lago_id, RECORD)))

    def note_raw(self, obj: str, lago_id: str, raw: int) -> None:
        """An unchanged record whose Lago record reads differently (the same properties)."""
        if self.saving:
            self._raw_updates.append((raw, entry_key(obj, lago_id, RECORD)))

    def forget(self, obj: str, lago_id: str, facet: int) -> None:
        """This sync's last version of the facet was not confirmed (rejected): keep it out of
        the new ledger even if an earlier version of it in this sync was."""
        if not self.saving:
            return
        self._put(entry_key(obj, lago_id, facet), None, 0, None)

    def witness(
        self,
        obj: str,
        target: str | None,
        lago_id: str,
        properties: Mapping[str, str] | Callable[[], Mapping[str, str]],
    ) -> None:
        """A record whose properties HubSpot holds as sent (written or unchanged): one of a
        uniform random sample per object (reservoir) that the next sync reads back.
        ``properties`` may be a function, called only for a record the sample takes."""
        if not self.saving or target is None:
            return
        state = self._sampling.get(obj)
        if state is None:
            state = self._sampling[obj] = [0, 0, 1.0]  # seen, next taken, weight
        state[0] += 1
        sample = self._witnesses.setdefault(obj, [])
        if len(sample) < WITNESSES:
            slot = len(sample)
            if slot == WITNESSES - 1:
                state[2] = self._weight()
                state[1] = state[0] + self._skip(state[2])
        elif state[0] == state[1]:
            slot = self._random.randrange(WITNESSES)
            state[2] *= self._weight()
            state[1] = state[0] + self._skip(state[2])
        else:
            return
        values = dict(properties() if callable(properties) else properties)
        witness = Witness(obj, target, lago_id, values)
        if slot == len(sample):
            sample.append(witness)
        else:
            sample[slot] = witness

    def _weight(self) -> float:
        return math.exp(math.log(1.0 - self._random.random()) / WITNESSES)

    def _skip(self, weight: float) -> int:
        """Records to pass over before the next one the sample takes (Algorithm L)."""
        if weight >= 1.0:
            return 1
        return int(math.log(1.0 - self._random.random()) / math.log(1.0 - weight)) + 1

    def distrust(self, keys: Iterable[tuple[str, str, int]]) -> None:
        """Entries the drift guard found deleted or edited in HubSpot: written again."""
        self._distrusted.update(entry_key(*key) for key in keys)

    def previous_witnesses(self) -> list[Witness]:
        """The previous sync's witnesses, for the drift guard."""
        if self._old is None:
            return []
        try:
            rows = self._old.execute("SELECT obj, target, lago_id, properties FROM witness")
            return [Witness(o, t, i, orjson.loads(p)) for o, t, i, p in rows]
        except (sqlite3.Error, orjson.JSONDecodeError):
            return []

    # -- the new file ---------------------------------------------------------------

    def _put(self, key: int, target: str | None, digest: int, raw: int | None) -> None:
        self._rows[key] = (key, target, digest, raw)
        if len(self._rows) + len(self._assoc_updates) + len(self._raw_updates) >= FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not (self._rows or self._assoc_updates or self._raw_updates):
            return
        db = self._connection()
        rows = self._rows.values()
        # An entry written again keeps its association digest: that digest names both ends'
        # HubSpot ids, so it still tells whether the association is made.
        db.executemany(
            "INSERT INTO entries (key, target, digest, raw) VALUES (?, ?, ?, ?) ON CONFLICT(key) "
            "DO UPDATE SET target = excluded.target, digest = excluded.digest, raw = excluded.raw",
            (r for r in rows if r[1] is not None),
        )
        db.executemany("DELETE FROM entries WHERE key = ?", ((r[0],) for r in rows if r[1] is None))
        db.executemany("UPDATE entries SET raw = ? WHERE key = ?", self._raw_updates)
        db.executemany("UPDATE entries SET assoc = ? WHERE key = ?", self._assoc_updates)
        self._rows, self._raw_updates, self._assoc_updates = {}, [], []

    def _connection(self) -> sqlite3.Connection:
        if self._new is None:
            self.path.unlink(missing_ok=True)
            if self._previous is not None and self.saving:
                shutil.copyfile(self._previous, self.path)
            self._new = sqlite3.connect(self.path)
            self._new.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        return self._new

    def finish(self) -> Path:
        """Write what is waiting and the witnesses; close the file and answer it (what it was
        written for is the store's pointer's to say)."""
        self._flush()
        db = self._connection()
        db.execute("DELETE FROM witness")
        db.executemany(
            "INSERT INTO witness VALUES (?, ?, ?, ?)",
            (
                (w.obj, w.target, w.lago_id, orjson.dumps(w.properties).decode())
                for sample in self._witnesses.values()
                for w in sample
            ),
        )
        db.commit()
        (self.entries,) = db.execute("SELECT count(*) FROM entries").fetchone()
        db.close()
        self._new = None
        return self.path

    def close(self) -> None:
        """Close both files (idempotent); the new one is deleted unless ``finish`` handed it
        over (the caller deletes its work directory)."""
        for db in (self._old, self._new):
            if db is not None:
                db.close()
        self._old = self._new = None
