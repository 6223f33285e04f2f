"""The billing aggregator's per-record facts, on disk (docs/product.md §6).

:class:`~destination_hubspot_lago.billing.aggregator.BillingAggregator` keeps one small fact per
subscription, invoice and wallet until the input is over, so that a record the source sends
twice counts once, in its last version. Those grow with the streams, so the pipeline keeps
them here, in a private temporary SQLite database (``tempdb.TempDB``, like
``billing/links.py``). Nothing secret is in it: Lago ids, amounts, dates and currency codes.

A fact is a short tuple of numbers, strings and None (booleans come back as 0/1); its key is
bytes (a UUID's 16) or text. Per record this costs about 3 µs of CPU more than a dict in memory
(the index of random UUIDs outgrows the page cache), and keeps memory flat.

Owned by the message loop. Facts are buffered and upserted in batches (a later version
replaces the fact and keeps its place); :meth:`DiskFacts.items` is the one query, after the
last record, streamed in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..sync.tempdb import TempDB

FLUSH_ROWS = 5000  # facts buffered before one executemany
WHAT = "the billing values"
WIDTH = 9  # values per fact at most (an InvoiceFact); shorter facts are padded with NULLs

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
        self._db = TempDB(_SCHEMA, WHAT)
        self._buffer: list[tuple[Any, ...]] = []
        self._puts = 0
        self._stored = 0  # distinct facts, counted when they are read back

    def put(self, stream: str, key: bytes | str, fact: tuple[Any, ...]) -> None:
        if self._db.closed:
            raise RuntimeError("DiskFacts.put after close")
        self._puts += 1
        if len(fact) > WIDTH:
            raise ValueError(f"a fact has at most {WIDTH} values")
        self._buffer.append((stream, key, *fact, *_PAD[len(fact) :]))
        if len(self._buffer) >= FLUSH_ROWS:
            self._flush()

    def items(self) -> Iterator[tuple[str, Sequence[Any]]]:
        """(stream, fact) of each record's last version, in the order records first came."""
        if self._db.closed or self._puts == 0:
            return
        self._flush()
        self._stored = 0
        for row in self._db.rows(f"SELECT stream, {_COLUMNS} FROM facts ORDER BY rowid"):
            self._stored += 1
            yield row[0], row[1:]  # padded: a fact's own values first, then NULLs

    @property
    def repeated(self) -> int:
        """Puts that replaced an earlier version (known once ``items`` was read)."""
        return self._puts - self._stored if self._stored else 0

    def close(self) -> None:
        """Drop the database (idempotent; the temporary file goes with the connection)."""
        self._buffer.clear()
        self._db.close()

    def _flush(self) -> None:
        if self._buffer:
            self._db.insert(_PUT, self._buffer)
            self._buffer.clear()
