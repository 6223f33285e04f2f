"""The billing aggregator's per-record facts, on disk (docs/product.md §6).

:class:`~destination_hubspot_lago.billing.aggregator.BillingAggregator` keeps one small fact per
subscription, invoice and wallet until the input is over, so that a record the source sends
twice counts once, in its last version. Those grow with the streams, so the pipeline keeps
them here, in a private temporary SQLite database (``tempdb.TempDB``, like
``billing/links.py``). Nothing secret is in it: Lago ids, amounts, dates and currency codes.

A fact is a short tuple of numbers, strings, booleans and None; its key is bytes (a UUID's 16)
or text. Each fact is one row: its stream and key as one unique blob, and the fact itself in
``marshal``'s encoding (it comes back as it was put: a plain tuple of the same values). Two
columns bound per fact instead of eleven, one index: about 3 µs of CPU per fact less than a
column per value, and still more than a dict in memory (the index of random UUIDs outgrows
the page cache) — but memory stays flat.

Owned by the message loop. Facts are buffered and upserted in batches (a later version
replaces the fact and keeps its place); :meth:`DiskFacts.items` is the one query, after the
last record, streamed in order.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator, Sequence
from typing import Any

from ..sync.tempdb import TempDB

FLUSH_ROWS = 5000  # facts buffered before one executemany
WHAT = "the billing values"

# place: the stream's name, a separator, then b"b" and a bytes key or b"s" and a text key's
# UTF-8 (so a bytes key and a text key never meet); fact: marshal.dumps((stream, values)).
_SCHEMA = """
PRAGMA journal_mode = OFF;
CREATE TABLE facts (place BLOB NOT NULL UNIQUE, fact BLOB NOT NULL);
"""
_PUT = (
    "INSERT INTO facts (place, fact) VALUES (?, ?) "
    "ON CONFLICT (place) DO UPDATE SET fact = excluded.fact"
)
_MARSHAL_VERSION = 4


class DiskFacts:
    def __init__(self) -> None:
        self._db = TempDB(_SCHEMA, WHAT)
        self._buffer: list[tuple[bytes, bytes]] = []
        self._prefixes: dict[str, tuple[bytes, bytes]] = {}  # stream -> its places' prefixes
        self._puts = 0
        self._stored = 0  # distinct facts, counted when they are read back

    def put(self, stream: str, key: bytes | str, fact: tuple[Any, ...]) -> None:
        if self._db.closed:
            raise RuntimeError("DiskFacts.put after close")
        self._puts += 1
        prefixes = self._prefixes.get(stream)
        if prefixes is None:
            head = stream.encode() + b"\x1f"
            prefixes = self._prefixes[stream] = (head + b"b", head + b"s")
        if isinstance(key, bytes):
            place = prefixes[0] + key
        else:
            place = prefixes[1] + key.encode("utf-8", "surrogatepass")
        # a fact is a NamedTuple: marshal takes plain tuples only
        self._buffer.append((place, marshal.dumps((stream, tuple(fact)), _MARSHAL_VERSION)))
        if len(self._buffer) >= FLUSH_ROWS:
            self._flush()

    def items(self) -> Iterator[tuple[str, Sequence[Any]]]:
        """(stream, fact) of each record's last version, in the order records first came."""
        if self._db.closed or self._puts == 0:
            return
        self._flush()
        self._stored = 0
        loads = marshal.loads
        for (fact,) in self._db.rows("SELECT fact FROM facts ORDER BY rowid"):
            self._stored += 1
            yield loads(fact)

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
