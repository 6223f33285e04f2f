"""The billing aggregator's per-record facts, on disk (PRODUCT.md §6).

:class:`~destination_hubspot_lago.mapping.billing.BillingAggregator` keeps one small fact per
subscription, invoice and wallet until the input is over, so that a record the source sends
twice counts once, in its last version. Those grow with the streams, so the pipeline keeps
them here, in a private temporary SQLite database (stdlib ``sqlite3``, like
``pipeline/links.py``): a bounded page cache, the rest in a file that is unlinked as soon as
it is opened and gone when the connection closes. Nothing secret is in it: Lago ids,
amounts, dates and currency codes.

A fact is a short tuple of numbers, strings and None (booleans come back as 0/1); its key is
bytes (a UUID's 16) or text. Per record this costs about 3 µs of CPU more than a dict in memory
(the index of random UUIDs outgrows the page cache), and keeps memory flat.

Owned by the message loop: one connection, made on first use, used on the loop thread only.
Facts are buffered and upserted in batches (a later version replaces the fact and keeps its
place); :meth:`DiskFacts.items` is the one query, after the last record, streamed in order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from . import tempdb

FLUSH_ROWS = 5000  # facts buffered before one executemany
WHAT = "the billing values"
WIDTH = 8  # values per fact at most; shorter facts are padded with NULLs

# A fact's values are columns (SQLite's columns hold any type): no encoding on the hot path.
_COLUMNS = ", ".join(f"f{n}" for n in range(WIDTH))
_SCHEMA = f"""
PRAGMA journal_mode = OFF;
CREATE TABLE facts (stream TEXT NOT NULL, key NOT NULL, {_COLUMNS}, UNIQUE (stream, key));
"""
_PUT = (
    f"INSERT INTO facts (stream, key, {_COLUMNS}) VALUES ({', '.join('?' * (WIDTH + 2))}) "
    f"ON CONFLICT (stream, key) DO UPDATE SET "
    + ", ".join(f"f{n} = excluded.f{n}" for n in range(WIDTH))
)
_PAD = (None,) * WIDTH


class DiskFacts:
    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._buffer: list[tuple[Any, ...]] = []
        self._puts = 0
        self._stored = 0  # distinct facts, counted when they are read back
        self._closed = False

    def put(self, stream: str, key: bytes | str, fact: tuple[Any, ...]) -> None:
        if self._closed:
            raise RuntimeError("DiskFacts.put after close")
        self._puts += 1
        if len(fact) > WIDTH:
            raise ValueError(f"a fact has at most {WIDTH} values")
        self._buffer.append((stream, key, *fact, *_PAD[len(fact) :]))
        if len(self._buffer) >= FLUSH_ROWS:
            self._flush()

    def items(self) -> Iterator[tuple[str, Sequence[Any]]]:
        """(stream, fact) of each record's last version, in the order records first came."""
        if self._closed or self._puts == 0:
            return
        self._flush()
        select = f"SELECT stream, {_COLUMNS} FROM facts ORDER BY rowid"
        cursor = tempdb.query(self._connection(), select, WHAT)
        self._stored = 0
        while True:
            batch = cursor.fetchmany(1000)
            if not batch:
                return
            self._stored += len(batch)
            for row in batch:
                yield row[0], row[1:]  # padded: a fact's own values first, then NULLs

    @property
    def repeated(self) -> int:
        """Puts that replaced an earlier version (known once ``items`` was read)."""
        return self._puts - self._stored if self._stored else 0

    def close(self) -> None:
        """Drop the database (idempotent; the temporary file goes with the connection)."""
        self._closed = True
        self._buffer.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _flush(self) -> None:
        if self._buffer:
            tempdb.insert(self._connection(), _PUT, self._buffer, WHAT)
            self._buffer.clear()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = tempdb.connect(_SCHEMA, WHAT)
        return self._db
