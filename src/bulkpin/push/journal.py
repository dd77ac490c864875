"""The crash-safe journal: what happened to every file, in SQLite (WAL).

Each file is keyed by its absolute path bytes (names need not be UTF-8) and
remembered with the size, ``mtime_ns`` and inode it had when it was read. Its
state moves::

    discovered ─▶ uploading ─▶ uploaded ─▶ pinned
         │            │            └─────▶ failed (the service gave up on the job)
         └────────────┴──────────────────▶ failed (the file could not be read or sent)
    skipped: a symlink, FIFO, socket or device, recorded so the manifest says why

Durability rules, which make a ``kill -9`` at any instant safe:

- ``uploading`` is committed before the first byte of an upload is sent
  (:meth:`Journal.sync`, a group commit shared by every worker), so a crash
  can never hide an upload that may have reached the service;
- every other transition is committed in batches; losing one only means a
  file is checked again against ``pinJobs`` on the next run;
- commits use ``synchronous=FULL``: a power cut loses no committed mark.

One run at a time: the journal holds an exclusive ``flock`` on ``FILE.lock``
for its lifetime; a second run on the same journal is refused.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio

from .crashpoints import crash_during

State = Literal["discovered", "uploading", "uploaded", "pinned", "failed", "skipped"]
STATES: tuple[State, ...] = ("discovered", "uploading", "uploaded", "pinned", "failed", "skipped")

_SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    cid TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    display BLOB NOT NULL,
    root INTEGER NOT NULL REFERENCES roots(id),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    state TEXT NOT NULL,
    cid TEXT,
    job_id TEXT,
    pin_date TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    failed_since REAL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_state ON files(state);
CREATE INDEX IF NOT EXISTS files_cid ON files(cid);
-- Thousands of files can share a CID (empty files, copies): lookups by CID
-- and state must not walk all of them, or a large tree costs O(N^2).
CREATE INDEX IF NOT EXISTS files_cid_state ON files(cid, state);
CREATE INDEX IF NOT EXISTS files_size ON files(size);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    status TEXT
);
"""


class JournalError(Exception):
    """The journal cannot be opened or written (locked, corrupt, disk full...)."""


class JournalLocked(JournalError):
    """Another run holds the journal."""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One row of the journal."""

    id: int
    path: bytes
    display: bytes
    root: int
    size: int
    mtime_ns: int
    inode: int
    state: State
    cid: str | None
    job_id: str | None
    pin_date: str | None
    attempts: int
    error: str | None
    failed_since: float | None

    def unchanged(self, size: int, mtime_ns: int, inode: int) -> bool:
        """Whether the file on disk is still the one this row describes."""
        return (self.size, self.mtime_ns, self.inode) == (size, mtime_ns, inode)


_COLUMNS = (
    "id, path, display, root, size, mtime_ns, inode, state, cid, job_id, pin_date, "
    "attempts, error, failed_since"
)


def _record(row: tuple[object, ...]) -> FileRecord:
    return FileRecord(*row)  # type: ignore[arg-type]


class Journal:
    """A run's view of the journal file. Not thread-safe: use it from one event loop."""

    def __init__(self, path: Path, *, profile_name: str) -> None:
        self.path = path
        self._lock_fd = -1
        self._conn: sqlite3.Connection | None = None
        self._writes = 0  # statements issued since the journal opened
        self._committed = 0  # ... of which committed
        self._commit_lock = anyio.Lock()
        self._last_commit = time.monotonic()
        self._open(profile_name)

    # -- lifecycle --

    def _open(self, profile_name: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot create the journal at {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise JournalLocked(
                f"another bulkpin run is using the journal {self.path}; "
                "wait for it to finish or give this run its own --journal"
            ) from None
        try:
            conn = sqlite3.connect(self.path, isolation_level="DEFERRED", check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            stored = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            self._check_meta(stored, profile_name)
            conn.executemany(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                [("schema", _SCHEMA_VERSION), ("profile", profile_name)],
            )
            conn.commit()
        except sqlite3.DatabaseError as exc:
            self._release_lock()
            raise JournalError(f"cannot use the journal {self.path}: {exc}") from exc
        except JournalError:
            self._release_lock()
            raise
        self._conn = conn

    def _check_meta(self, stored: dict[str, str], profile_name: str) -> None:
        if stored.get("schema", _SCHEMA_VERSION) != _SCHEMA_VERSION:
            raise JournalError(f"{self.path} was written by an incompatible bulkpin")
        if stored.get("profile", profile_name) != profile_name:
            raise JournalError(
                f"{self.path} holds CIDs of profile {stored['profile']!r}, not "
                f"{profile_name!r}; use another --journal for another profile"
            )

    def _release_lock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def close(self) -> None:
        """Commit what is pending, close the database and release the lock."""
        if self._conn is not None:
            try:
                self.commit()
            finally:
                self._conn.close()
                self._conn = None
        self._release_lock()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection."""
        if self._conn is None:
            raise JournalError("the journal is closed")
        return self._conn

    def _write(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            cursor = self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc}") from exc
        self._writes += 1
        return cursor

    # -- commits --

    def commit(self) -> None:
        """Commit every statement issued so far."""
        if self._committed == self._writes:
            return
        target = self._writes
        crash_during("commit")
        try:
            self.conn.commit()
        except sqlite3.Error as exc:
            raise JournalError(f"cannot commit the journal {self.path}: {exc}") from exc
        self._committed = target
        self._last_commit = time.monotonic()

    def commit_if_due(self, interval: float = 0.5, max_pending: int = 2000) -> None:
        """The batch commit: call it often; it commits at most every ``interval`` s."""
        pending = self._writes - self._committed
        if pending and (
            pending >= max_pending or time.monotonic() - self._last_commit >= interval
        ):
            self.commit()

    async def sync(self, window: float = 0.002) -> None:
        """Return once every statement issued before the call is committed.

        Workers that call this together share one commit: the first waits
        ``window`` seconds for the others' marks, then commits them all.
        """
        target = self._writes
        if self._committed >= target:
            return
        async with self._commit_lock:
            if self._committed >= target:
                return
            await anyio.sleep(window)
            self.commit()

    # -- runs and roots --

    def begin_run(self) -> int:
        """Record a new run; returns its id."""
        cursor = self._write("INSERT INTO runs (started) VALUES (?)", (time.time(),))
        self.commit()
        return int(cursor.lastrowid or 0)

    def end_run(self, run_id: int, status: str) -> None:
        """Record how a run ended."""
        self._write("UPDATE runs SET finished = ?, status = ? WHERE id = ?",
                    (time.time(), status, run_id))
        self.commit()

    def root_id(self, path: bytes) -> int:
        """The id of a PATH argument, created on first use."""
        row = self.conn.execute("SELECT id FROM roots WHERE path = ?", (path,)).fetchone()
        if row is not None:
            return int(row[0])
        cursor = self._write("INSERT INTO roots (path) VALUES (?)", (path,))
        return int(cursor.lastrowid or 0)

    def set_root_cid(self, root: int, cid: str | None, error: str | None = None) -> None:
        """Record the locally computed root CID of a PATH argument (or why there is none)."""
        self._write("UPDATE roots SET cid = ?, error = ? WHERE id = ?", (cid, error, root))

    def roots(self) -> list[tuple[int, bytes, str | None, str | None]]:
        """Every PATH argument: ``(id, path, cid, error)``."""
        return [
            (int(r[0]), bytes(r[1]), r[2], r[3])
            for r in self.conn.execute("SELECT id, path, cid, error FROM roots ORDER BY id")
        ]

    # -- files --

    def get(self, path: bytes) -> FileRecord | None:
        """The row of a file, by absolute path."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM files WHERE path = ?",  # noqa: S608 - constant columns
            (path,),
        ).fetchone()
        return None if row is None else _record(row)

    def get_id(self, file_id: int) -> FileRecord:
        """The row of a file, by id."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM files WHERE id = ?",  # noqa: S608 - constant columns
            (file_id,),
        ).fetchone()
        if row is None:
            raise JournalError(f"no file {file_id} in the journal")
        return _record(row)

    def discover(
        self, path: bytes, display: bytes, root: int, size: int, mtime_ns: int, inode: int,
        state: State = "discovered", error: str | None = None,
    ) -> FileRecord:
        """Record a file as the walk found it; a changed file starts over."""
        now = time.time()
        old = self.get(path)
        if old is None:
            cursor = self._write(
                "INSERT INTO files (path, display, root, size, mtime_ns, inode, state, error,"
                " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (path, display, root, size, mtime_ns, inode, state, error, now),
            )
            return self.get_id(int(cursor.lastrowid or 0))
        if old.unchanged(size, mtime_ns, inode) and state == "discovered":
            return old
        self._write(
            "UPDATE files SET display = ?, root = ?, size = ?, mtime_ns = ?, inode = ?,"
            " state = ?, cid = NULL, job_id = NULL, pin_date = NULL, error = ?,"
            " failed_since = NULL, updated = ? WHERE id = ?",
            (display, root, size, mtime_ns, inode, state, error, now, old.id),
        )
        return self.get_id(old.id)

    def mark_uploading(self, file_id: int, cid: str | None) -> None:
        """The upload is about to start (call :meth:`sync` before sending)."""
        self._write(
            "UPDATE files SET state = 'uploading', cid = ?, attempts = attempts + 1,"
            " error = NULL, updated = ? WHERE id = ?",
            (cid, time.time(), file_id),
        )

    def mark_uploaded(
        self, file_id: int, cid: str, job_id: str | None = None, pin_date: str | None = None
    ) -> None:
        """The service accepted the file (or already had its content)."""
        self._write(
            "UPDATE files SET state = 'uploaded', cid = ?, job_id = ?, pin_date = ?,"
            " error = NULL, failed_since = NULL, updated = ? WHERE id = ?",
            (cid, job_id, pin_date, time.time(), file_id),
        )

    def mark_duplicate(self, file_id: int, of: FileRecord) -> None:
        """The file has the content of ``of``, which the service has: share its fate.

        One row is written, by id: updating every file of the CID instead
        made a tree of many identical files (empty ones, say) quadratic.
        """
        state = "pinned" if of.state == "pinned" else "uploaded"
        self._write(
            "UPDATE files SET state = ?, cid = ?, job_id = ?, pin_date = ?, error = NULL,"
            " failed_since = NULL, updated = ? WHERE id = ?",
            (state, of.cid, of.job_id, of.pin_date, time.time(), file_id),
        )

    def set_cid(self, file_id: int, cid: str) -> None:
        """Record a CID computed locally (dry run, or before an upload)."""
        self._write("UPDATE files SET cid = ?, updated = ? WHERE id = ?",
                    (cid, time.time(), file_id))

    def mark_failed(self, file_id: int, error: str) -> None:
        """The file could not be read or sent; the error says why."""
        self._write(
            "UPDATE files SET state = 'failed', error = ?, updated = ? WHERE id = ?",
            (error, time.time(), file_id),
        )

    def set_job_status(self, cid: str, status: str, job_id: str | None, error: str | None) -> int:
        """Apply a polled job status to every uploaded file with this CID.

        ``failed_since`` remembers when the job was first seen failed, because a
        failed Decoo job may still be retried and become ``pinned``.
        """
        now = time.time()
        if status == "pinned":
            cursor = self._write(
                # Also revives files given up on after their job failed: Decoo
                # retries failed jobs, and a late success is still a success.
                "UPDATE files SET state = 'pinned', job_id = COALESCE(?, job_id), error = NULL,"
                " failed_since = NULL, updated = ? WHERE cid = ? AND (state = 'uploaded'"
                " OR (state = 'failed' AND failed_since IS NOT NULL))",
                (job_id, now, cid),
            )
        elif status == "failed":
            cursor = self._write(
                "UPDATE files SET job_id = COALESCE(?, job_id), error = ?,"
                " failed_since = COALESCE(failed_since, ?), updated = ?"
                " WHERE cid = ? AND state = 'uploaded'",
                (job_id, error, now, now, cid),
            )
        else:
            cursor = self._write(
                "UPDATE files SET job_id = COALESCE(?, job_id), failed_since = NULL, updated = ?"
                " WHERE cid = ? AND state = 'uploaded'",
                (job_id, now, cid),
            )
        return cursor.rowcount

    def give_up_failed_jobs(self, older_than: float) -> int:
        """Files whose job has stayed failed since before ``older_than`` become failed."""
        cursor = self._write(
            "UPDATE files SET state = 'failed', updated = ? WHERE state = 'uploaded'"
            " AND failed_since IS NOT NULL AND failed_since <= ?",
            (time.time(), older_than),
        )
        return cursor.rowcount

    def fail_cid(self, cid: str, error: str) -> int:
        """Every uploaded file with this CID ends failed (``failed_since`` keeps it revivable)."""
        now = time.time()
        cursor = self._write(
            "UPDATE files SET state = 'failed', error = ?,"
            " failed_since = COALESCE(failed_since, ?), updated = ?"
            " WHERE cid = ? AND state = 'uploaded'",
            (error, now, now, cid),
        )
        return cursor.rowcount

    def failed_job_cids(self) -> set[str]:
        """CIDs of files failed because of their job, which a late ``pinned`` would revive."""
        return {
            r[0] for r in self.conn.execute(
                "SELECT DISTINCT cid FROM files WHERE state = 'failed'"
                " AND failed_since IS NOT NULL AND cid IS NOT NULL"
            )
        }

    def known_cid(self, cid: str) -> FileRecord | None:
        """A file whose content (this CID) the service already has or is pinning."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM files WHERE cid = ?"  # noqa: S608 - constant columns
            " AND state IN ('uploaded', 'pinned') LIMIT 1",
            (cid,),
        ).fetchone()
        return None if row is None else _record(row)

    def size_seen(self, size: int, exclude_id: int) -> bool:
        """Whether another file of this size is known: the only way it can be a duplicate."""
        row = self.conn.execute(
            "SELECT 1 FROM files WHERE size = ? AND id != ? AND state != 'skipped' LIMIT 1",
            (size, exclude_id),
        ).fetchone()
        return row is not None

    def in_state(self, *states: State) -> Iterator[FileRecord]:
        """Every file in one of ``states``, by id (read in pages: the set may be huge)."""
        marks = ",".join("?" * len(states))
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM files WHERE state IN ({marks}) AND id > ?"  # noqa: S608
                " ORDER BY id LIMIT 1000",
                (*states, last),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _record(row)
            last = int(rows[-1][0])

    def waiting_cids(self) -> set[str]:
        """CIDs of uploaded files whose job is not yet known to be final."""
        return {
            r[0] for r in self.conn.execute(
                "SELECT DISTINCT cid FROM files WHERE state = 'uploaded' AND cid IS NOT NULL"
            )
        }

    def counts(self) -> dict[str, int]:
        """Files per state (every state present, zero if none)."""
        found = dict(self.conn.execute("SELECT state, COUNT(*) FROM files GROUP BY state"))
        return {state: int(found.get(state, 0)) for state in STATES}

    def all_files(self) -> Iterator[FileRecord]:
        """Every file, by id, read in pages."""
        return self.in_state(*STATES)

    def integrity_check(self) -> str:
        """SQLite's own verdict on the file: ``"ok"`` when sound."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])
