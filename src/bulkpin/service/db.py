"""The service's state in SQLite (WAL): accounts, pins and pin jobs.

All access goes through one connection owned by one thread
(:class:`AsyncDatabase` runs :class:`Database` methods there), so the event
loop never waits on the disk and no two writers race. Other processes (``serve
--init-only --new-account``) may open the same file at the same time; WAL and a
busy timeout make that safe.

Times are integer milliseconds since the epoch (UTC): what the API prints
(``2024-05-01T12:00:00.123Z``) is then exactly what is stored, so a date read
back from an answer filters exactly. Rows are ordered by time, then insertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, Literal, ParamSpec, TypeVar

from .paging import Pager
from .private_files import create_private_file, tighten

P = ParamSpec("P")
T = TypeVar("T")

JobStatus = Literal["queued", "pinning", "pinned", "failed"]
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "pinning", "pinned", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL,
    private_key TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pins (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    cid TEXT NOT NULL,
    size INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- the job that made this pin (NULL in data dirs older than the column)
    job_uid TEXT
);
CREATE INDEX IF NOT EXISTS pins_by_date ON pins (account_id, created_ms, id);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    cid TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'hash')),
    status TEXT NOT NULL CHECK (status IN ('queued', 'pinning', 'pinned', 'failed')),
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    -- when the worker next looks at the job; NULL: nothing to do
    due_ms INTEGER,
    -- pinByHash: when the search for the content gives up
    deadline_ms INTEGER,
    -- the Pinning Service API's Pin.meta and Pin.origins (JSON), or NULL
    meta TEXT,
    origins TEXT,
    -- why the content could not be fetched yet (PinStatus.info), or NULL
    detail TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_date ON jobs (account_id, created_ms, id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (account_id, status, created_ms, id);
CREATE INDEX IF NOT EXISTS jobs_by_cid ON jobs (account_id, cid, created_ms, id);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_hash_cid ON jobs (cid) WHERE kind = 'hash';
"""

#: Columns added after the first release: (table, column, type). Data dirs made
#: before them get them on open; every new column may be NULL.
_ADDED_COLUMNS = (
    ("pins", "job_uid", "TEXT"),
    ("jobs", "meta", "TEXT"),
    ("jobs", "origins", "TEXT"),
    ("jobs", "detail", "TEXT"),
)
#: Indexes on added columns, made once the columns exist.
_LATE_SCHEMA = """
CREATE INDEX IF NOT EXISTS pins_by_job ON pins (job_uid);
"""

#: Jobs the worker advances per transaction.
_BATCH = 1000


@dataclass(frozen=True)
class AccountRow:
    """An account as stored."""

    id: int
    name: str
    key_id: str
    public_key: bytes
    private_key: str


@dataclass(frozen=True)
class JobRow:
    """A pin job as ``pinJobs`` shows it."""

    uid: str
    status: str
    cid: str


@dataclass(frozen=True)
class PinRow:
    """A pin as ``pinList`` shows it."""

    uid: str
    cid: str
    size: int
    created_ms: int
    name: str


@dataclass(frozen=True)
class DbStats:
    """The counts ``/_admin/stats`` reports from the database."""

    pins: int
    jobs: dict[str, int]
    duplicate_jobs: int
    accounts: int


def new_uid() -> str:
    """A public identifier for a pin or job."""
    return str(uuid.uuid4())


def _account_where(
    account_id: int, *conditions: tuple[str, object | None]
) -> tuple[str, list[object]]:
    """The clause and arguments for one account's rows, under each condition whose value is given.

    A condition whose value is None is no condition: a listing filter not asked for.
    """
    where = ["account_id = ?"]
    args: list[object] = [account_id]
    for condition, value in conditions:
        if value is not None:
            where.append(condition)
            args.append(value)
    return " AND ".join(where), args


class Database:
    """Synchronous access; call from one thread at a time (see :class:`AsyncDatabase`)."""

    def __init__(self, path: Path) -> None:
        # Private before SQLite opens it, so the WAL and shared-memory files it
        # makes (with the database's mode) are private too; ones an older
        # version left readable are tightened.
        create_private_file(path)
        for sidecar in ("-wal", "-shm", "-journal"):
            tighten(path.with_name(path.name + sidecar))
        self._conn = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a crash of the process (what tests do with
        # SIGKILL); only a power cut can lose the last commits.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self._conn:
            self._conn.executescript(_SCHEMA)
        self._add_columns()
        with self._conn:
            self._conn.executescript(_LATE_SCHEMA)
        self._pager = Pager(self._conn)

    def _add_columns(self) -> None:
        for table, column, kind in _ADDED_COLUMNS:
            present = {
                row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")
            }
            if column not in present:
                # Another process may add it at the same moment: that is fine too.
                with contextlib.suppress(sqlite3.OperationalError):
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for query modules (``psa_store``) run on the database thread."""
        return self._conn

    def begin(self) -> sqlite3.Connection:
        """Start a write transaction (``COMMIT`` it, or :meth:`rollback`)."""
        return self._tx()

    def rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already.

        A COMMIT that fails on a full disk may end the transaction itself; a
        ROLLBACK then raises "no transaction is active", and that error, not the
        disk's, is what reached the client (a 500 where a 507 was due).
        """
        if self._conn.in_transaction:
            # The error being handled says more than a failed ROLLBACK would.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def job_created_ms(self, account_id: int, now_ms: int) -> int:
        """``now_ms``, or 1 ms after the account's newest job if that is not later.

        The Pinning Service API pages backwards with ``before=<created>`` and so
        needs every ``created`` of an account to be unique; a burst of jobs in one
        millisecond is spread over the next few instead.
        """
        (newest,) = self._conn.execute(
            "SELECT MAX(created_ms) FROM jobs WHERE account_id = ?", (account_id,)
        ).fetchone()
        return now_ms if newest is None else max(now_ms, int(newest) + 1)

    def close(self) -> None:
        """Checkpoint and close."""
        # Another process may hold the database; the WAL then simply stays.
        with contextlib.suppress(sqlite3.OperationalError):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    def _tx(self) -> sqlite3.Connection:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    # -- meta -------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A stored setting, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- accounts -----------------------------------------------------------

    def add_account(
        self, name: str, key_id: str, public_key: bytes, private_key: str, now_ms: int
    ) -> AccountRow:
        """Create an account, or return the existing one of that name."""
        conn = self._tx()
        try:
            existing = self.account_by_name(name)
            if existing is None:
                conn.execute(
                    "INSERT INTO accounts (name, key_id, public_key, private_key, created_ms) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, key_id, public_key, private_key, now_ms),
                )
            conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        account = self.account_by_name(name)
        assert account is not None
        return account

    def _account(self, where: str, arg: object) -> AccountRow | None:
        row = self._conn.execute(
            "SELECT id, name, key_id, public_key, private_key FROM accounts WHERE " + where,  # noqa: S608
            (arg,),
        ).fetchone()
        return None if row is None else AccountRow(row[0], row[1], row[2], bytes(row[3]), row[4])

    def account_by_name(self, name: str) -> AccountRow | None:
        """The account called ``name``."""
        return self._account("name = ?", name)

    def account_by_id(self, account_id: int) -> AccountRow | None:
        """The account with this id."""
        return self._account("id = ?", account_id)

    def accounts(self) -> list[AccountRow]:
        """Every account, oldest first."""
        rows = self._conn.execute(
            "SELECT id, name, key_id, public_key, private_key FROM accounts ORDER BY id"
        ).fetchall()
        return [AccountRow(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows]

    # -- pins and jobs --------------------------------------------------------

    def add_file_pin(
        self, account_id: int, cid: str, size: int, name: str, now_ms: int, due_ms: int,
        meta: str | None = None,
    ) -> tuple[str, str]:
        """An uploaded file: its pin and its queued job, in one transaction.

        Also puts pinByHash jobs waiting for this content (of any account, as on
        IPFS) back in front of the worker. Returns (pin id, job id).
        """
        pin_uid, job_uid = new_uid(), new_uid()
        conn = self._tx()
        try:
            conn.execute(
                "INSERT INTO pins (uid, account_id, cid, size, name, created_ms, job_uid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pin_uid, account_id, cid, size, name, now_ms, job_uid),
            )
            conn.execute(
                "INSERT INTO jobs (uid, account_id, cid, kind, status, name, created_ms, "
                "updated_ms, due_ms, meta) VALUES (?, ?, ?, 'file', 'queued', ?, ?, ?, ?, ?)",
                (job_uid, account_id, cid, name, self.job_created_ms(account_id, now_ms),
                 now_ms, due_ms, meta),
            )
            conn.execute(
                "UPDATE jobs SET due_ms = ? WHERE kind = 'hash' AND cid = ? "
                "AND status IN ('pinning', 'failed')",
                (now_ms, cid),
            )
            conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        return pin_uid, job_uid

    def add_hash_job(
        self, account_id: int, cid: str, name: str, now_ms: int, due_ms: int,
        deadline_ms: int | None,
        meta: str | None = None, origins: str | None = None,
    ) -> str:
        """A queued pinByHash job; returns its id."""
        uid = new_uid()
        self._conn.execute(
            "INSERT INTO jobs (uid, account_id, cid, kind, status, name, created_ms, "
            "updated_ms, due_ms, deadline_ms, meta, origins) "
            "VALUES (?, ?, ?, 'hash', 'queued', ?, ?, ?, ?, ?, ?, ?)",
            (uid, account_id, cid, name, self.job_created_ms(account_id, now_ms), now_ms,
             due_ms, deadline_ms, meta, origins),
        )
        return uid

    def list_jobs(
        self, account_id: int, *, cid: str | None, status: str | None,
        descending: bool, offset: int, limit: int,
    ) -> tuple[int, list[JobRow]]:
        """(count of matching jobs, one page of them)."""
        clause, args = _account_where(account_id, ("cid = ?", cid), ("status = ?", status))
        count, rows = self._pager.page("jobs", "uid, status, cid", clause, args,
                                       descending=descending, offset=offset, limit=limit)
        return count, [JobRow(*r) for r in rows]  # type: ignore[arg-type]

    def list_pins(
        self, account_id: int, *, start_ms: int | None, end_ms: int | None,
        descending: bool, offset: int, limit: int,
    ) -> tuple[int, list[PinRow]]:
        """(count of matching pins, one page of them)."""
        clause, args = _account_where(
            account_id, ("created_ms >= ?", start_ms), ("created_ms <= ?", end_ms)
        )
        count, rows = self._pager.page("pins", "uid, cid, size, created_ms, name",
                                       clause, args, descending=descending,
                                       offset=offset, limit=limit)
        return count, [PinRow(*r) for r in rows]  # type: ignore[arg-type]

    # -- the worker -------------------------------------------------------------

    def next_due(self) -> int | None:
        """When the earliest job needs the worker (ms), or None."""
        row = self._conn.execute("SELECT MIN(due_ms) FROM jobs WHERE due_ms IS NOT NULL").fetchone()
        return None if row[0] is None else int(row[0])

    def advance_jobs(
        self, now_ms: int, step_ms: int, poll_ms: int, retry_after_ms: int,
        blob_size: Callable[[str], int | None],
    ) -> int:
        """Move every due job one step; returns how many were looked at.

        queued -> pinning -> pinned when the content is in the store; a pinByHash
        job without content stays pinning until its deadline, then fails. A
        failed job created less than ``retry_after_ms`` ago goes back to
        pinning when its content arrives (Decoo retries for a day).
        """
        conn = self._tx()
        try:
            rows = conn.execute(
                "SELECT id, account_id, cid, kind, status, name, created_ms, deadline_ms, uid "
                "FROM jobs WHERE due_ms IS NOT NULL AND due_ms <= ? ORDER BY due_ms LIMIT ?",
                (now_ms, _BATCH),
            ).fetchall()
            for (job_id, account_id, cid, kind, status, name, created_ms, deadline_ms,
                 job_uid) in rows:
                new_status, due = status, None
                if status == "queued":
                    new_status, due = "pinning", now_ms + step_ms
                elif status == "failed":
                    # Woken because content arrived (or after a restart): retry
                    # within the window; otherwise wait for the next wake-up.
                    retry = now_ms - created_ms <= retry_after_ms and blob_size(cid) is not None
                    if retry:
                        new_status, due = "pinning", now_ms + step_ms
                elif (size := blob_size(cid)) is not None:
                    new_status = "pinned"
                    if kind == "hash":
                        conn.execute(
                            "INSERT INTO pins (uid, account_id, cid, size, name, created_ms, "
                            "job_uid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (new_uid(), account_id, cid, size, name, now_ms, job_uid),
                        )
                elif kind == "hash" and (deadline_ms is None or now_ms < deadline_ms):
                    due = now_ms + poll_ms
                    if deadline_ms is not None:
                        due = min(due, deadline_ms)
                else:
                    # Out of time, or an uploaded file whose blob is gone.
                    new_status = "failed"
                conn.execute(
                    "UPDATE jobs SET status = ?, due_ms = ?, updated_ms = ? WHERE id = ?",
                    (new_status, due, now_ms, job_id),
                )
            conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        return len(rows)

    def wake_failed(self, now_ms: int, window_ms: int) -> None:
        """Have the worker look again at recent failed pinByHash jobs (after a restart)."""
        self._conn.execute(
            "UPDATE jobs SET due_ms = ? WHERE kind = 'hash' AND status = 'failed' "
            "AND created_ms >= ?",
            (now_ms, now_ms - window_ms),
        )

    # -- stats -------------------------------------------------------------------

    def stats(self) -> DbStats:
        """Counts for ``/_admin/stats``."""
        (pins,) = self._conn.execute("SELECT COUNT(*) FROM pins").fetchone()
        jobs: dict[str, int] = dict.fromkeys(JOB_STATUSES, 0)
        for status, n in self._conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status"):
            jobs[status] = int(n)
        (distinct,) = self._conn.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT account_id, cid FROM jobs)"
        ).fetchone()
        (accounts,) = self._conn.execute("SELECT COUNT(*) FROM accounts").fetchone()
        return DbStats(int(pins), jobs, sum(jobs.values()) - int(distinct), int(accounts))


class AsyncDatabase:
    """Runs :class:`Database` methods on the one thread that owns the connection."""

    def __init__(self, path: Path) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulkpin-db")
        self._db = self._executor.submit(Database, path).result()

    async def run(
        self, method: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``method(db, *args, **kwargs)`` on the database thread."""
        loop = asyncio.get_running_loop()
        future = self._executor.submit(method, self._db, *args, **kwargs)
        return await asyncio.wrap_future(future, loop=loop)

    def call(
        self, method: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """The same, blocking: for start-up and shut-down outside the event loop."""
        return self._executor.submit(method, self._db, *args, **kwargs).result()

    def close(self) -> None:
        """Close the connection and stop the thread."""
        self._executor.submit(self._db.close).result()
        self._executor.shutdown(wait=True)
