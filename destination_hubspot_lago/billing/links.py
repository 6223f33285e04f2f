"""The invoice ↔ subscription link state of one sync, on disk (docs/product.md §6).

:class:`LinkStore` keeps what the links need until the ``fees`` stream is complete: one row
per fee naming an invoice and a subscription, and one row per invoice/subscription event of
this sync — written (with the HubSpot id its upsert answered; None for a record a dry run
would create) or not synced (skipped by the status rules, rejected). These grow with the
streams, so they live in a private temporary SQLite database (``tempdb.TempDB``) instead of
the process's memory. Nothing secret is in it: Lago ids and HubSpot ids only.

Owned by the message loop. Rows are buffered and inserted in batches; :meth:`rows` is the one
query, after the last record, streamed in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..sync.tempdb import TempDB

INVOICES, SUBSCRIPTIONS = "invoices", "subscriptions"
WHAT = "the invoice-subscription links"
FLUSH_ROWS = 5000  # rows buffered per table before one executemany

_SCHEMA = """
PRAGMA journal_mode = OFF;
CREATE TABLE fees (invoice TEXT NOT NULL, subscription TEXT NOT NULL);
CREATE TABLE invoices (lago_id TEXT NOT NULL, hubspot_id TEXT, written INTEGER NOT NULL);
CREATE TABLE subscriptions (lago_id TEXT NOT NULL, hubspot_id TEXT, written INTEGER NOT NULL);
"""

# Each distinct pair with its number of fees and, for each end, its last event of this sync
# (a later version wins: rowid is the order the loop saw them; SQLite takes the bare columns
# of a max() aggregate from the row holding the maximum). No event: NULLs.
_ROWS = """
WITH
  i AS (SELECT lago_id, hubspot_id, written, max(rowid) FROM invoices GROUP BY lago_id),
  s AS (SELECT lago_id, hubspot_id, written, max(rowid) FROM subscriptions GROUP BY lago_id),
  p AS (SELECT invoice, subscription, count(*) AS fees FROM fees GROUP BY invoice, subscription)
SELECT p.invoice, p.subscription, p.fees, i.written, i.hubspot_id, s.written, s.hubspot_id
FROM p LEFT JOIN i ON i.lago_id = p.invoice LEFT JOIN s ON s.lago_id = p.subscription
ORDER BY p.invoice, p.subscription
"""


@dataclass(frozen=True)
class End:
    """One end of a link as this sync left it."""

    seen: bool  # written or not synced in this sync; False: an earlier sync's, if any
    written: bool = False  # its last version was written in this sync
    hubspot_id: str | None = None  # as the upsert answered (None: a dry run would create it)

    @property
    def excluded(self) -> bool:
        """Its last version was skipped by the status rules or rejected: never linked."""
        return self.seen and not self.written


UNSEEN = End(seen=False)
NOT_SYNCED = End(seen=True)


@dataclass(frozen=True)
class LinkRow:
    """A distinct (invoice, subscription) pair the fees name, and how many fees name it."""

    invoice: str
    subscription: str
    fees: int
    invoice_end: End
    subscription_end: End


class LinkStore:
    def __init__(self) -> None:
        self._db = TempDB(_SCHEMA, WHAT)
        self.fees = 0  # fees naming an invoice and a subscription
        self._buffers: dict[str, list[tuple[str, ...] | tuple[str, str | None, int]]] = {
            "fees": [],
            INVOICES: [],
            SUBSCRIPTIONS: [],
        }

    # -- fed on the loop thread -----------------------------------------------------

    # On the hot path (every fee, every written record): an append, and every FLUSH_ROWS
    # rows one executemany (about 1.5 µs per row in all).

    def add_fee(self, invoice: str, subscription: str) -> None:
        self.fees += 1
        buffer = self._buffers["fees"]
        buffer.append((invoice, subscription))
        if len(buffer) >= FLUSH_ROWS:
            self._flush("fees")

    def written(self, kind: str, lago_id: str, hubspot_id: str | None) -> None:
        """A version of the record is in HubSpot (``hubspot_id`` None: a planned creation)."""
        buffer = self._buffers[kind]
        buffer.append((lago_id, hubspot_id, 1))
        if len(buffer) >= FLUSH_ROWS:
            self._flush(kind)

    def not_synced(self, kind: str, lago_id: str) -> None:
        """A version of the record was skipped by the status rules or rejected."""
        buffer = self._buffers[kind]
        buffer.append((lago_id, None, 0))
        if len(buffer) >= FLUSH_ROWS:
            self._flush(kind)

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        if not buffer or self._db.closed:
            buffer.clear()
            return
        marks = "?, ?" if table == "fees" else "?, ?, ?"
        self._db.insert(f"INSERT INTO {table} VALUES ({marks})", buffer)
        buffer.clear()

    # -- after the last record --------------------------------------------------------

    def rows(self) -> Iterator[LinkRow]:
        """Every distinct pair, sorted by (invoice, subscription), with its ends (one query,
        streamed). Nothing may be added afterwards."""
        if self.fees == 0 or self._db.closed:
            return
        for table in self._buffers:
            self._flush(table)
        for invoice, subscription, fees, i_written, i_id, s_written, s_id in self._db.rows(
            _ROWS, 500
        ):
            yield LinkRow(invoice, subscription, fees, _end(i_written, i_id), _end(s_written, s_id))

    def close(self) -> None:
        """Drop the database (idempotent; the temporary file goes with the connection)."""
        for buffer in self._buffers.values():
            buffer.clear()
        self._db.close()


def _end(written: int | None, hubspot_id: str | None) -> End:
    if written is None:
        return UNSEEN
    if not written:
        return NOT_SYNCED
    return End(seen=True, written=True, hubspot_id=hubspot_id)
