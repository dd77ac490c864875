"""Listing pages served from remembered page ends are the pages OFFSET gives."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from bulkpin.service.db import Database


def _naive(path: Path, table: str, where: str, args: list[object], descending: bool,
           offset: int, limit: int) -> list[str]:
    order = "DESC" if descending else "ASC"
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute(
            f"SELECT uid FROM {table} WHERE {where} "
            f"ORDER BY created_ms {order}, id {order} LIMIT ? OFFSET ?",
            [*args, limit, offset])]
    finally:
        conn.close()


def test_pages_match_offset_paging_and_writes_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "service.sqlite"
    db = Database(path)
    account = db.add_account("a", "k", b"pub", "priv", 1)
    # Several pins per millisecond: the order's ties are broken by id.
    for i in range(730):
        db.add_file_pin(account.id, f"cid{i}", 4, f"n{i}", now_ms=1000 + i // 3, due_ms=0)
    total = 730
    for descending in (False, True):
        offset, seen = 0, []
        while True:
            count, page = db.list_pins(account.id, start_ms=None, end_ms=None,
                                       descending=descending, offset=offset, limit=100)
            assert count == total
            assert [p.uid for p in page] == _naive(path, "pins", "account_id = ?",
                                                   [account.id], descending, offset, 100)
            if not page:
                break
            seen += [p.uid for p in page]
            offset += len(page)
            if offset == 300 and descending:
                # A pin made mid-listing goes first in a newest-first listing and
                # moves every later page by one, as OFFSET does.
                db.add_file_pin(account.id, "late", 4, "late", now_ms=5000, due_ms=0)
                total += 1
        # Newest first, the page after the late pin repeats the row it pushed down.
        assert len(seen) == (730 if not descending else 731)
    count, jobs = db.list_jobs(account.id, cid=None, status="queued", descending=False,
                               offset=700, limit=100)
    assert count == 731
    assert [j.uid for j in jobs] == _naive(path, "jobs", "account_id = ? AND status = ?",
                                           [account.id, "queued"], False, 700, 100)
    db.close()


def _steps(conn: sqlite3.Connection, call: Callable[[], object]) -> int:
    """SQLite virtual-machine steps (in thousands) that ``call`` took on ``conn``."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    conn.set_progress_handler(count, 1000)
    try:
        call()
    finally:
        conn.set_progress_handler(None, 0)
    return steps[0]


def test_a_listing_from_a_date_costs_a_page_per_page(tmp_path: Path) -> None:
    # A re-run lists the account from a day before its last listing: every page
    # must start at the last one's end, not scan again from the date.
    db = Database(tmp_path / "service.sqlite")
    account = db.add_account("a", "k", b"pub", "priv", 1)
    for i in range(20_000):
        db.add_file_pin(account.id, f"cid{i}", 4, f"n{i}", now_ms=1000 + i, due_ms=0)
    costs = []
    for offset in range(0, 19_000, 1000):  # 19,500 match: 19 whole pages
        costs.append(_steps(db.connection, lambda o=offset: db.list_pins(  # type: ignore[misc]
            account.id, start_ms=1500, end_ms=None, descending=False, offset=o, limit=1000)))
    # The first page counts the matches; the rest cost about the same as each other,
    # where seeking by the date made the last page cost twenty times the second.
    assert max(costs[1:]) < 2 * min(costs[1:]), costs
    db.close()
