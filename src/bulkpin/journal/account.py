"""The account index's tables: what the destination holds, as ``pinList`` and ``pinJobs`` said.

Every kind of journal bound to a destination keeps them (``account_pins``,
``account_sizes``, ``account_jobs``; see :mod:`.schema`); the listing that
fills them is :mod:`bulkpin.push.account_index`'s. Jobs the current run
created live in a TEMP table, ``run_jobs``: the next run lists the account's
unfinished jobs anew and would throw them away.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .packed import pack_cid, pack_id, pack_moment, unpack_date, unpack_id
from .store import JournalStore

__all__ = ["AccountTables", "HeldRow"]

#: ``(pinned, job id, pin date)``: how the account holds a CID.
HeldRow = tuple[bool, str | None, str | None]


def _packed_id(job_id: str | None) -> bytes | str | None:
    return None if job_id is None else pack_id(job_id)


class AccountTables:
    """The account index's rows in ``journal`` (written with its next commit)."""

    def __init__(self, journal: JournalStore) -> None:
        self.journal = journal
        journal.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS run_jobs"
            " (cid BLOB PRIMARY KEY, job_id BLOB, status TEXT NOT NULL)"
        )

    def add_pins(self, pins: Iterable[tuple[str, str, int | None, datetime | None]]) -> None:
        """Pins listed: ``(cid, pin id, size, date)``; a pin already known is kept as it is."""
        # A pin's size and date do not change, and every later listing repeats
        # the last day's pins: keep the row there is (REPLACE deleted and wrote
        # it again, a tenth of a no-op re-run).
        rows = [(pack_cid(cid), pack_id(pin_id), size, pack_moment(date))
                for cid, pin_id, size, date in pins]
        self.journal.write_many("INSERT OR IGNORE INTO account_pins VALUES (?, ?, ?, ?)", rows)
        self.journal.write_many("INSERT OR IGNORE INTO account_sizes VALUES (?)",
                                [(size,) for size in {row[2] for row in rows}
                                 if size is not None])

    def clear_pins(self) -> None:
        """Forget every pin listed: the index is listed whole again."""
        self.journal.write_many("DELETE FROM account_pins", [()])
        self.journal.write_many("DELETE FROM account_sizes", [()])

    def pin_count(self) -> int:
        """How many of the account's pins the index holds."""
        return int(self.journal.conn.execute("SELECT COUNT(*) FROM account_pins").fetchone()[0])

    def pins_since(self, start: datetime | None) -> int:
        """How many pins the index holds dated ``start`` or later (dates kept in UTC)."""
        return int(self.journal.conn.execute(
            "SELECT COUNT(*) FROM account_pins WHERE date >= ?", (pack_moment(start),)
        ).fetchone()[0])

    def clear_jobs(self) -> None:
        """Forget every unfinished job: they are listed anew."""
        self.journal.write_many("DELETE FROM account_jobs", [()])
        self.journal.write_many("DELETE FROM run_jobs", [()])

    def add_jobs(self, jobs: Iterable[tuple[str, str | None, str]]) -> None:
        """Unfinished jobs listed: ``(cid, job id, status)``."""
        self.journal.write_many("INSERT INTO account_jobs VALUES (?, ?, ?)",
                                [(pack_cid(cid), _packed_id(job_id), status)
                                 for cid, job_id, status in jobs])

    def holds(self, cid: str, pinned_status: str) -> HeldRow | None:
        """How the account holds ``cid``: a pin, or a job (pinned if its status is
        ``pinned_status``); None if it does not. One indexed query each."""
        conn = self.journal.conn
        key = pack_cid(cid)
        row = conn.execute("SELECT date FROM account_pins WHERE cid = ? LIMIT 1",
                           (key,)).fetchone()
        if row is not None:
            return True, None, unpack_date(row[0])
        row = conn.execute("SELECT job_id, status FROM account_jobs WHERE cid = ? LIMIT 1",
                           (key,)).fetchone()
        if row is None:
            row = conn.execute("SELECT job_id, status FROM run_jobs WHERE cid = ?",
                               (key,)).fetchone()
        if row is None:
            return None
        return row[1] == pinned_status, None if row[0] is None else unpack_id(row[0]), None

    def has_size(self, size: int) -> bool:
        """Whether the account holds a pin of exactly ``size`` bytes (a possible copy)."""
        return self.journal.conn.execute(
            "SELECT 1 FROM account_sizes WHERE size = ?", (size,)).fetchone() is not None

    def forget_job(self, cid: str) -> None:
        """The account's job for ``cid`` failed: it no longer counts as coming."""
        key = pack_cid(cid)
        self.journal.write_many("DELETE FROM account_jobs WHERE cid = ?", [(key,)])
        self.journal.write_many("DELETE FROM run_jobs WHERE cid = ?", [(key,)])

    def record_job(self, cid: str, job_id: str | None, status: str) -> None:
        """A job this run created (or found): the account has it now."""
        self.journal.write_many("INSERT OR REPLACE INTO run_jobs VALUES (?, ?, ?)",
                                [(pack_cid(cid), _packed_id(job_id), status)])
