"""``pinList`` and ``pinJobs`` pages without rescanning the account for each.

Both APIs page by ``offset``. Done naively, every page of a listing counts
the account's matching rows and steps over ``offset`` of them: listing an
account of a million pins, a thousand pages, cost O(N^2) and took the
service minutes. :class:`Pager` remembers, for each query, its count and
where each page it served ended (``created_ms``, ``id``), so the next page
starts from there by the index. Both are valid only while the database is
unchanged: any write, by this connection (``total_changes``) or another
(``data_version``), forgets them, so a page is always what ``OFFSET`` would
give.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

__all__ = ["Pager"]

#: Remembered page ends before they are dropped (a listing needs one at a time).
_MAX_ENDS = 4096

_Key = tuple[str, str, tuple[object, ...], bool]


class Pager:
    """Counts and page ends of listing queries, on the database's own thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._stamp: tuple[int, int] | None = None
        self._counts: dict[_Key, int] = {}
        self._ends: dict[tuple[_Key, int], tuple[int, int]] = {}

    def _forget_if_changed(self) -> None:
        stamp = (self._conn.total_changes,
                 int(self._conn.execute("PRAGMA data_version").fetchone()[0]))
        if stamp != self._stamp or len(self._ends) > _MAX_ENDS:
            self._counts.clear()
            self._ends.clear()
            self._stamp = stamp

    def page(
        self, table: str, columns: str, clause: str, args: Sequence[object], *,
        descending: bool, offset: int, limit: int,
    ) -> tuple[int, list[tuple[object, ...]]]:
        """(count of rows matching ``clause``, the page at ``offset``), by ``created_ms, id``."""
        self._forget_if_changed()
        key: _Key = (table, clause, tuple(args), descending)
        count = self._counts.get(key)
        if count is None:
            (count,) = self._conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {clause}", args  # noqa: S608
            ).fetchone()
            self._counts[key] = count = int(count)
        order = "DESC" if descending else "ASC"
        end = self._ends.get((key, offset))
        if end is None:
            rows = self._conn.execute(
                f"SELECT {columns}, created_ms, id FROM {table} WHERE {clause} "  # noqa: S608
                f"ORDER BY created_ms {order}, id {order} LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        else:
            after = "<" if descending else ">"
            # The page end goes first: of two bounds on created_ms (it, and a
            # start-date or end-date of the clause) SQLite seeks by the first,
            # and by the date every page of a re-run's listing scanned the
            # account from that date on (90 ms a page at a million pins, 3 ms now).
            rows = self._conn.execute(
                f"SELECT {columns}, created_ms, id FROM {table} "  # noqa: S608
                f"WHERE (created_ms, id) {after} (?, ?) AND {clause} "
                f"ORDER BY created_ms {order}, id {order} LIMIT ?",
                [*end, *args, limit],
            ).fetchall()
        if rows:
            self._ends[(key, offset + len(rows))] = (int(rows[-1][-2]), int(rows[-1][-1]))
        return count, [tuple(row[:-2]) for row in rows]
