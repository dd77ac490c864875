"""The journal's rows in the walk's order: a query per page of a directory, not per file.

A no-op re-run of a large tree asks the journal about every file it meets. One
indexed query per file cost more than everything else the re-run does with
the file. The walk meets a directory's files sorted by name bytes
(:func:`bulkpin.fs._walk._listing`), which is also the order of the journal's
``UNIQUE (dir, name)`` index (SQLite compares BLOBs as ``memcmp`` does), so the
rows can be read ahead a page at a time and matched as the walk goes. Memory
stays at one page, whatever the directory's size; a lookup out of that order
(a ``--files-from`` list, overlapping PATHs) just reads the page from there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from .schema import split_path

__all__ = ["WalkRows"]

#: Rows read per query: a directory of 1,000 files costs four queries.
PAGE = 256


class WalkRows:
    """Rows of ``files`` by path, read ahead in name order from one connection.

    ``columns`` is the select list (its first column must be ``name``; a
    column may use the table's name, ``files``). ``before_read`` runs before
    each query: a caller that batches its own writes flushes them there, so a
    page never misses what the caller itself wrote. Rows read are a snapshot: a
    caller that writes a row some other way calls :meth:`drop`, and :meth:`find`
    answers None for it (ask the journal) until the page is read again.
    """

    def __init__(self, conn: Callable[[], sqlite3.Connection], columns: str,
                 before_read: Callable[[], None] | None = None, page: int = PAGE) -> None:
        self._conn = conn
        self._columns = columns
        self._before_read = before_read
        self._page = page
        self._head: bytes | None = None
        self._dir: int | None = None
        self._rows: dict[bytes, tuple[Any, ...]] = {}
        #: The page holds every row with ``_lo <= name <= _hi`` (``_hi`` None: to the end).
        self._lo: bytes | None = None
        self._hi: bytes | None = None

    def find(self, path: bytes) -> tuple[Any, ...] | None:
        """The row of the file at ``path`` (absolute path bytes), or None: not known here."""
        head, name = split_path(path)
        if head != self._head:
            self._open(head)
        if self._dir is None:
            return None
        lo, hi = self._lo, self._hi
        if lo is None or name < lo or (hi is not None and name > hi):
            self._read(name)
        return self._rows.get(name)

    def _open(self, head: bytes) -> None:
        if self._before_read is not None:
            self._before_read()
        row = self._conn().execute("SELECT id FROM dirs WHERE path = ?", (head,)).fetchone()
        self._head = head
        self._dir = None if row is None else int(row[0])
        self._rows = {}
        self._lo = self._hi = None

    def _read(self, start: bytes) -> None:
        if self._before_read is not None:
            self._before_read()
        rows = self._conn().execute(
            f"SELECT {self._columns} FROM files WHERE dir = ? AND name >= ?"  # noqa: S608
            " ORDER BY name LIMIT ?",
            (self._dir, start, self._page),
        ).fetchall()
        self._rows = {bytes(row[0]): row for row in rows}
        self._lo = start
        self._hi = bytes(rows[-1][0]) if len(rows) == self._page else None

    def update(self, path: bytes, row: tuple[Any, ...]) -> None:
        """Replace the page's copy of a row the caller has just written itself."""
        head, name = split_path(path)
        if head == self._head and name in self._rows:
            self._rows[name] = row

    def drop(self, path: bytes) -> None:
        """The row of ``path`` was written elsewhere: the page's copy is no longer true."""
        head, name = split_path(path)
        if head == self._head:
            self._rows.pop(name, None)
