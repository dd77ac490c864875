"""Listing pages served from remembered page ends are the pages OFFSET gives."""

from __future__ import annotations

import sqlite3
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
