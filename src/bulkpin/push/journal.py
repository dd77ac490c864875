"""The crash-safe journal: what happened to every file, in SQLite (WAL).

Each file is keyed by its absolute path bytes (names need not be UTF-8) and
remembered with the size, ``mtime_ns`` and inode it had when it was read. Its
state moves::

    discovered ─▶ uploading ─▶ uploaded ─▶ pinned
         │            │            └─────▶ failed (the service gave up on the job)
         └────────────┴──────────────────▶ failed (the file could not be read or sent)
    skipped: a symlink, FIFO, socket or device, recorded so the manifest says why

How the file is kept safe (locking, WAL, group commits) is :mod:`._store`'s job.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from ..fs import FileIdentity
from ._store import STATES, JournalStore, State
from .errors import JournalError, JournalLocked

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .options import PushOptions

__all__ = ["STATES", "FileRecord", "Journal", "JournalError", "JournalLocked", "KnownFiles",
           "State", "default_journal_path"]


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

    @property
    def identity(self) -> FileIdentity:
        """What the file was when this row was written."""
        return FileIdentity(self.size, self.mtime_ns, self.inode)


_COLUMNS = (
    "id, path, display, root, size, mtime_ns, inode, state, cid, job_id, pin_date, "
    "attempts, error, failed_since"
)


def _record(row: tuple[object, ...]) -> FileRecord:
    return FileRecord(*row)  # type: ignore[arg-type]


class Journal(JournalStore):
    """What a run learnt of every file. Not thread-safe: use it from one event loop."""

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
        self, path: bytes, display: bytes, root: int, identity: FileIdentity,
        state: State = "discovered", error: str | None = None,
    ) -> FileRecord:
        """Record a file as the walk found it; a changed file starts over."""
        size, mtime_ns, inode = identity.size, identity.mtime_ns, identity.inode
        now = time.time()
        old = self.get(path)
        if old is None:
            cursor = self._write(
                "INSERT INTO files (path, display, root, size, mtime_ns, inode, state, error,"
                " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (path, display, root, size, mtime_ns, inode, state, error, now),
            )
            return self.get_id(int(cursor.lastrowid or 0))
        if old.identity == identity and state == "discovered":
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

    def failures(self, limit: int = 50) -> list[tuple[str, str]]:
        """The first ``limit`` failed files: ``(path shown, why)``."""
        out = []
        for record in self.in_state("failed"):
            out.append((os.fsdecode(record.display), record.error or "failed"))
            if len(out) >= limit:
                break
        return out

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


def default_journal_path(roots: Sequence[bytes], options: PushOptions) -> Path:
    """A journal per set of PATHs, profile and shard: re-running a command resumes it."""
    key = hashlib.sha256()
    for root in sorted(roots):
        key.update(root + b"\0")
    key.update(options.profile.name.encode())
    if options.selection.shard is not None:
        shard = options.selection.shard
        key.update(f"shard {shard.index}/{shard.count}".encode())
    state = Path(platformdirs.user_state_dir("bulkpin"))
    return state / "journals" / f"{key.hexdigest()[:20]}.sqlite"


class KnownFiles:
    """Read-only lookups of recorded files, from any thread (one connection per thread).

    The root-CID computation walks the tree again in worker threads and asks,
    per file, whether the journal already knows its CID; SQLite objects stay in
    the thread that made them, and WAL lets these readers run beside the writer.
    """

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True)
            self._local.conn = conn
        return conn

    def cid_if_unchanged(self, path: bytes, st: os.stat_result) -> tuple[str, int] | None:
        """The recorded CID and size of the file at ``path``, if ``st`` shows it unchanged."""
        row = self._conn().execute(
            "SELECT size, mtime_ns, inode, cid FROM files WHERE path = ?", (path,)
        ).fetchone()
        if row is None or row[3] is None:
            return None
        if not FileIdentity(row[0], row[1], row[2]).matches(st):
            return None
        return str(row[3]), int(row[0])
