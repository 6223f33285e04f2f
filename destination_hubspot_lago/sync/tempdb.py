"""The sync's private temporary SQLite databases (``links.py``, ``facts.py``), and the one
problem they can give a user: no writable temporary directory.

:class:`TempDB` is one such database, owned by the message loop: opened on first use (a
private temporary on-disk database: a bounded page cache, the rest in a file that is unlinked
as soon as SQLite opens it and gone when the connection closes), batched inserts, one
streamed query, and ``close``. ``sqlite3`` refuses any thread but the one that opened it.

SQLite puts a temporary database in the first writable directory of ``SQLITE_TMPDIR``,
``TMPDIR``, /var/tmp, /usr/tmp, /tmp; a container with none of them (a read-only file system)
or a full disk fails at the first write that spills to it. That is the user's to fix, so it
is a :class:`TempStorageProblem` naming what to do, never a bug report.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any


class TempStorageProblem(Exception):
    """The temporary database could not be written (the sync fails with a config error)."""


class TempDB:
    def __init__(self, schema: str, what: str) -> None:
        self._schema = schema
        self._what = what  # what it holds, for the user: "the billing values"
        self._db: sqlite3.Connection | None = None
        self.closed = False

    def insert(self, sql: str, rows: Iterable[Any]) -> None:
        try:
            self._connection().executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._problem(exc) from None

    def script(self, sql: str) -> None:
        """Statements without parameters (a table made when it is needed)."""
        try:
            self._connection().executescript(sql)
        except sqlite3.Error as exc:
            raise self._problem(exc) from None

    def rows(self, sql: str, batch: int = 1000) -> Iterator[Any]:
        """The query's rows, fetched ``batch`` at a time; they stop once the database is
        closed (a sync that failed while they were being read)."""
        try:
            cursor = self._connection().execute(sql)
        except sqlite3.Error as exc:
            raise self._problem(exc) from None
        while not self.closed:
            fetched = cursor.fetchmany(batch)
            if not fetched:
                return
            yield from fetched

    def close(self) -> None:
        """Drop the database (idempotent; the temporary file goes with the connection)."""
        self.closed = True
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self._db = sqlite3.connect("")  # "": temporary, deleted on close
                self._db.executescript(self._schema)
            except sqlite3.Error as exc:
                raise self._problem(exc) from None
        return self._db

    def _problem(self, exc: sqlite3.Error) -> TempStorageProblem:
        return TempStorageProblem(
            f"Could not write the sync's temporary file for {self._what} (SQLite: {exc}). Give "
            "the connector a writable temporary directory with free space: set TMPDIR to one, "
            "or make /tmp writable."
        )
