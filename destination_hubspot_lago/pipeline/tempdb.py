"""The sync's private temporary SQLite databases (``links.py``, ``facts.py``), and the one
problem they can give a user: no writable temporary directory.

SQLite puts a temporary database in the first writable directory of ``SQLITE_TMPDIR``,
``TMPDIR``, /var/tmp, /usr/tmp, /tmp; a container with none of them (a read-only file system)
or a full disk fails at the first write that spills to it. That is the user's to fix, so it
is a :class:`TempStorageProblem` naming what to do, never a bug report.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any


class TempStorageProblem(Exception):
    """The temporary database could not be written (the sync fails with a config error)."""


def _problem(exc: sqlite3.Error, what: str) -> TempStorageProblem:
    return TempStorageProblem(
        f"Could not write the sync's temporary file for {what} (SQLite: {exc}). Give the "
        "connector a writable temporary directory with free space: set TMPDIR to one, or make "
        "/tmp writable."
    )


def connect(schema: str, what: str) -> sqlite3.Connection:
    """A private temporary on-disk database (deleted when the connection closes)."""
    try:
        db = sqlite3.connect("")  # "": temporary, unlinked as soon as SQLite opens its file
        db.executescript(schema)
    except sqlite3.Error as exc:
        raise _problem(exc, what) from None
    return db


def insert(db: sqlite3.Connection, sql: str, rows: Iterable[Any], what: str) -> None:
    try:
        db.executemany(sql, rows)
    except sqlite3.Error as exc:
        raise _problem(exc, what) from None


def query(db: sqlite3.Connection, sql: str, what: str) -> sqlite3.Cursor:
    try:
        return db.execute(sql)
    except sqlite3.Error as exc:
        raise _problem(exc, what) from None
