"""The billing aggregator's per-record facts, on disk (docs/product.md §6).

:class:`~destination_hubspot_lago.billing.aggregator.BillingAggregator` keeps one small fact per
subscription, invoice and wallet until the input is over, so that a record the source sends
twice counts once, in its last version. Those grow with the streams, so the pipeline keeps
them here, in a private temporary SQLite database (``tempdb.TempDB``, like
``billing/links.py``). Nothing secret is in it: Lago ids, amounts, dates and currency codes.

A fact is a short tuple of numbers, strings, booleans and None; its key is bytes (a UUID's 16)
or text. Facts are appended FLUSH_ROWS at a time, one ``marshal`` blob per row of the file (a
fact comes back as it was put: a plain tuple of the same values): a row per fact, with a
unique index to replace an earlier version, cost some 4 µs of CPU per fact, most of a
steady-state sync's billing work.

Replacing happens when the facts are read back, once. A bitmap of the keys put so far (2 MB,
by their hash) tells a key never put before from one that may have been: those *suspects*
(the repeated keys, and a few whose hash met another's) are kept in memory, and
:meth:`DiskFacts.items` reads the file twice — first the suspects' last versions, then every
fact in order, a suspect's last version in its first one's place. A source that repeats more
than SUSPECTS_MOST records has them replaced by SQLite instead: every fact in a table of its
own, grouped by key (slower, memory as flat).

Nearly every sync repeats no record, and then the facts need not be read back at all: the
aggregator folds each fact as it puts it, and :meth:`DiskFacts.distinct` tells it whether
that fold is the answer. Without a suspect it is, at once; with suspects, only the places are
read back (each row keeps them apart from its facts) and each suspect counted: put once, it
only met another key's hash. (Reading the facts back cost ~1 µs of CPU per fact.)

Owned by the message loop.
"""

from __future__ import annotations

import marshal
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from ..sync.tempdb import TempDB

FLUSH_ROWS = 2000  # facts per row of the file (one marshal blob)
SEEN_BITS = 1 << 24  # the bitmap of the keys put so far: 2 MB
SUSPECTS_MOST = 20_000  # keys possibly put twice, held in memory at most
WHAT = "the billing values"

# place: the stream's name, a separator, then b"b" and a bytes key or b"s" and a text key's
# UTF-8 (so a bytes key and a text key never meet); a row: marshal.dumps of its facts' places
# (a list, for ``distinct``) and of the list of their (place, stream, values).
_SCHEMA = """
PRAGMA journal_mode = OFF;
CREATE TABLE facts (places BLOB NOT NULL, batch BLOB NOT NULL);
"""
_MARSHAL_VERSION = 4
# A source that repeats many records: every fact (in order: seq) in a table, the last version
# of each place in the place of its first.
_EACH = """
DROP TABLE IF EXISTS each_fact;
CREATE TABLE each_fact (seq INTEGER PRIMARY KEY, place BLOB NOT NULL, fact BLOB NOT NULL);
"""
_LAST_VERSIONS = """
SELECT f.fact FROM each_fact f JOIN (
    SELECT min(seq) AS first, max(seq) AS last FROM each_fact GROUP BY place
) g ON f.seq = g.last ORDER BY g.first
"""


class DiskFacts:
    def __init__(self) -> None:
        self._db = TempDB(_SCHEMA, WHAT)
        self._buffer: list[tuple[bytes, str, tuple[Any, ...]]] = []
        self._prefixes: dict[str, tuple[bytes, bytes]] = {}  # stream -> its places' prefixes
        self._seen = bytearray(SEEN_BITS // 8)  # one bit per hash of a key put
        self._suspects: set[bytes] | None = set()  # None: too many (SQLite replaces them)
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
        seen = self._seen
        bit = hash(place) & (SEEN_BITS - 1)
        mask = 1 << (bit & 7)
        if seen[bit >> 3] & mask:
            self._suspect(place)
        else:
            seen[bit >> 3] |= mask
        # a fact is a NamedTuple: marshal takes plain tuples only
        self._buffer.append((place, stream, tuple(fact)))
        if len(self._buffer) >= FLUSH_ROWS:
            self._flush()

    def items(self) -> Iterator[tuple[str, Sequence[Any]]]:
        """(stream, fact) of each record's last version, in the order records first came."""
        if self._db.closed or self._puts == 0:
            return
        self._flush()
        self._stored = 0
        if self._suspects is None:
            yield from self._replaced_by_sqlite()
            return
        suspects = self._suspects
        last: dict[bytes, tuple[str, tuple[Any, ...]]] = {}
        if suspects:
            for place, stream, values in self._all():
                if place in suspects:
                    last[place] = (stream, values)
        for place, stream, values in self._all():
            if place in suspects:
                if place not in last:
                    continue  # an earlier version, its last one given already
                stream, values = last.pop(place)
            self._stored += 1
            yield stream, values

    def distinct(self) -> bool:
        """True when no key was put twice (then ``items`` would be every fact as put, in order).
        Without a suspect, known at once; else the places put are read back (the facts are
        not) and each suspect counted: a repeated key is a suspect put more than once (its
        second put found its own bit set), a key that only met another's hash is put once."""
        suspects = self._suspects
        if suspects is None or self._db.closed:
            return False
        if suspects:
            self._flush()
            puts: Counter[bytes] = Counter()
            for (places,) in self._db.rows("SELECT places FROM facts ORDER BY rowid", batch=1):
                puts.update(filter(suspects.__contains__, marshal.loads(places)))
            return all(count == 1 for count in puts.values())
        return True

    @property
    def repeated(self) -> int:
        """Puts that replaced an earlier version (known once ``items`` was read, or
        ``distinct`` said True: then none)."""
        return self._puts - self._stored if self._stored else 0

    def close(self) -> None:
        """Drop the database (idempotent; the temporary file goes with the connection)."""
        self._buffer.clear()
        self._seen = bytearray()
        self._suspects = set()
        self._db.close()

    def _suspect(self, place: bytes) -> None:
        suspects = self._suspects
        if suspects is not None:
            suspects.add(place)
            if len(suspects) > SUSPECTS_MOST:
                self._suspects = None

    def _flush(self) -> None:
        if self._buffer:
            places = [place for place, _, _ in self._buffer]
            self._db.insert(
                "INSERT INTO facts (places, batch) VALUES (?, ?)",
                [
                    (
                        marshal.dumps(places, _MARSHAL_VERSION),
                        marshal.dumps(self._buffer, _MARSHAL_VERSION),
                    )
                ],
            )
            self._buffer = []

    def _all(self) -> Iterator[tuple[bytes, str, tuple[Any, ...]]]:
        loads = marshal.loads
        for (batch,) in self._db.rows("SELECT batch FROM facts ORDER BY rowid", batch=1):
            yield from loads(batch)

    def _replaced_by_sqlite(self) -> Iterator[tuple[str, Sequence[Any]]]:
        dumps, version = marshal.dumps, _MARSHAL_VERSION
        self._db.script(_EACH)
        self._db.insert(
            "INSERT INTO each_fact (place, fact) VALUES (?, ?)",
            ((place, dumps((stream, values), version)) for place, stream, values in self._all()),
        )
        loads = marshal.loads
        for (fact,) in self._db.rows(_LAST_VERSIONS):
            self._stored += 1
            yield loads(fact)
