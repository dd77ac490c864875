"""The crash-safe journal: what happened to every file, in SQLite (WAL).

Each file is keyed by its absolute path bytes (names need not be UTF-8) and
remembered with the size, ``mtime_ns`` and inode it had when it was read. Its
state moves::

    discovered ─▶ uploading ─▶ uploaded ─▶ pinned
         │            │            └─────▶ failed (the service gave up on the job)
         ├────────────┴──────────────────▶ failed (the file could not be read or sent)
         └───────────────────────────────▶ pinned / uploaded (the account already
                                           holds the CID, or has a job for it)
    skipped: a symlink, FIFO, socket or device, recorded so the manifest says why
    gone: the file was deleted before it could be pinned; reported once

A journal belongs to one destination (:mod:`bulkpin.destination`): what it
calls pinned was learnt from that account, and it also keeps the account's
index (``account_pins``, ``account_jobs``: see :mod:`.account_index`).

How the file is kept safe (locking, WAL, group commits) is :mod:`.store`'s job;
the job transitions are :mod:`.jobs`'s, shared with ``pin``'s CIDs, rows of the
same table (:mod:`.pins`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..fs import FileIdentity
from .errors import JournalError, JournalLocked
from .jobs import JobTransitions, whole_seconds
from .packed import pack_cid, pack_date, pack_id, unpack_cid, unpack_date, unpack_id
from .schema import LARGE_ONLY, WHOLE_FILE_FLOOR, pack_display, split_path
from .store import STATES, State

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..destination import Destination

__all__ = ["STATES", "FileRecord", "Journal", "JournalError", "JournalLocked", "State"]


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
    #: The run that saw the file before the :meth:`Journal.discover` that returned
    #: this record (None: never, or a journal from before runs were recorded).
    seen_run: int | None = None
    prefix: str | None = None

    @property
    def identity(self) -> FileIdentity:
        """What the file was when this row was written."""
        return FileIdentity(self.size, self.mtime_ns, self.inode)


_COLUMNS = (
    "files.id, dirs.path, name, display, root, size, mtime_ns, inode, state, cid, job_id,"
    " pin_date, attempts, error, failed_since, seen_run, prefix"
)
#: Where _COLUMNS come from: a file's path is its directory's and its name.
_FROM = "files JOIN dirs ON dirs.id = files.dir"
#: How many directory ids are kept in memory (a walk meets a directory's files together).
_DIR_CACHE = 4096


def _record(row: tuple[Any, ...]) -> FileRecord:
    (file_id, head, name, display, root, size, mtime_ns, inode, state, cid, job_id, pin_date,
     attempts, error, failed_since, seen_run, prefix) = row
    path = bytes(head) + bytes(name)
    return FileRecord(
        file_id, path, path[display:] if isinstance(display, int) else bytes(display), root,
        size, mtime_ns, inode, state, None if cid is None else unpack_cid(cid),
        None if job_id is None else unpack_id(job_id), unpack_date(pin_date), attempts,
        error, failed_since, seen_run, prefix,
    )


def _packed_id(job_id: str | None) -> bytes | str | None:
    return None if job_id is None else pack_id(job_id)


def dry_run_copy(path: Path, scratch: Path) -> Path:
    """A copy of the journal at ``path`` (if any) in ``scratch``, for a dry run to change."""
    copy = scratch / "dry-run.sqlite"
    if path.exists():
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as src, \
                contextlib.closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)  # consistent even while a push writes the original (WAL)
    return copy


class Journal(JobTransitions):
    """What a run learnt of every file. Not thread-safe: use it from one event loop."""

    def __init__(self, path: Path, *, profile_name: str | None,
                 destination: Destination | None = None, read_only: bool = False) -> None:
        super().__init__(
            path, kind="push", profile_name=profile_name,
            destination=destination.key if destination is not None else None,
            destination_label=str(destination) if destination is not None else None,
            read_only=read_only,
        )

    # -- files --

    def _dir_id(self, head: bytes) -> int:
        """The id of a directory's row, created on first use."""
        cache: dict[bytes, int] = self.__dict__.setdefault("_dirs", {})
        dir_id = cache.get(head)
        if dir_id is None:
            row = self.conn.execute("SELECT id FROM dirs WHERE path = ?", (head,)).fetchone()
            if row is None:
                dir_id = int(self._write("INSERT INTO dirs (path) VALUES (?)",
                                         (head,)).lastrowid or 0)
            else:
                dir_id = int(row[0])
            if len(cache) >= _DIR_CACHE:
                cache.clear()
            cache[head] = dir_id
        return dir_id

    def get(self, path: bytes) -> FileRecord | None:
        """The row of a file, by absolute path."""
        head, name = split_path(path)
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE dirs.path = ? AND name = ?",  # noqa: S608
            (head, name),
        ).fetchone()
        return None if row is None else _record(row)

    def get_id(self, file_id: int) -> FileRecord:
        """The row of a file, by id."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE files.id = ?",  # noqa: S608
            (file_id,),
        ).fetchone()
        if row is None:
            raise JournalError(f"no file {file_id} in the journal")
        return _record(row)

    def insert_file(self, path: bytes, display: bytes, root: int, identity: FileIdentity,
                    state: State, error: str | None = None) -> int:
        """A new row (the path must be new); returns its id."""
        head, name = split_path(path)
        cursor = self._write(
            "INSERT INTO files (dir, name, display, root, size, mtime_ns, inode, state, error,"
            " updated, seen_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self._dir_id(head), name, pack_display(path, display), root, identity.size,
             identity.mtime_ns, identity.inode, state, error, whole_seconds(), self.run_id),
        )
        return int(cursor.lastrowid or 0)

    def discover(
        self, path: bytes, display: bytes, root: int, identity: FileIdentity,
        state: State = "discovered", error: str | None = None,
    ) -> FileRecord:
        """Record a file as the walk found it; a changed file starts over."""
        size, mtime_ns, inode = identity.size, identity.mtime_ns, identity.inode
        now = whole_seconds()
        old = self.get(path)
        if old is None:
            file_id = self.insert_file(path, display, root, identity, state, error)
            return FileRecord(file_id, path, display, root, size, mtime_ns, inode, state, None,
                              None, None, 0, error, None, None, None)
        if old.identity == identity and state == "discovered":
            if old.seen_run != self.run_id:
                self._write("UPDATE files SET seen_run = ? WHERE id = ?", (self.run_id, old.id))
            return old
        self._write(
            "UPDATE files SET display = ?, root = ?, size = ?, mtime_ns = ?, inode = ?,"
            " state = ?, cid = NULL, job_id = NULL, pin_date = NULL, error = ?,"
            " failed_since = NULL, updated = ?, seen_run = ?, prefix = NULL WHERE id = ?",
            (pack_display(path, display), root, size, mtime_ns, inode, state, error, now,
             self.run_id, old.id),
        )
        return dataclasses.replace(self.get_id(old.id), seen_run=old.seen_run)

    def mark_seen(self, file_ids: Sequence[int]) -> None:
        """This run met these files, unchanged (one statement for the lot)."""
        self.write_many("UPDATE files SET seen_run = ? WHERE id = ?",
                        [(self.run_id, file_id) for file_id in file_ids])

    def mark_uploading(self, file_id: int, cid: str | None) -> None:
        """The upload is about to start (call :meth:`sync` before sending)."""
        self._write(
            "UPDATE files SET state = 'uploading', cid = ?, attempts = attempts + 1,"
            " error = NULL, updated = ? WHERE id = ?",
            (None if cid is None else pack_cid(cid), whole_seconds(), file_id),
        )

    def mark_uploaded(
        self, file_id: int, cid: str, job_id: str | None = None, pin_date: str | None = None
    ) -> None:
        """The service accepted the file (or already had its content)."""
        self._write(
            "UPDATE files SET state = 'uploaded', cid = ?, job_id = ?, pin_date = ?,"
            " error = NULL, failed_since = NULL, updated = ? WHERE id = ?",
            (pack_cid(cid), _packed_id(job_id), pack_date(pin_date), whole_seconds(), file_id),
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
            (state, None if of.cid is None else pack_cid(of.cid), _packed_id(of.job_id),
             pack_date(of.pin_date), whole_seconds(), file_id),
        )

    def mark_held(self, file_id: int, cid: str, *, job_id: str | None, pinned: bool,
                  pin_date: str | None = None, hint: bool = False) -> None:
        """The account already holds ``cid`` (``pinned``) or has a job for it.

        ``hint``: the job is not one this journal made, so it may fail where
        nobody has the content; the poller then hands the file back to upload.
        """
        self._write(
            "UPDATE files SET state = ?, cid = ?, job_id = ?, pin_date = ?, error = NULL,"
            " failed_since = NULL, updated = ? WHERE id = ?",
            ("pinned" if pinned else "uploaded", pack_cid(cid), _packed_id(job_id),
             pack_date(pin_date), whole_seconds(), file_id),
        )
        if hint and not pinned:
            self._write("INSERT OR IGNORE INTO hinted VALUES (?)", (file_id,))

    def forget_pin(self, file_id: int) -> None:
        """The account no longer holds what this file was pinned as: do it again.

        The CID is kept (the file is unchanged, so it need not be hashed again).
        """
        self._write(
            "UPDATE files SET state = 'discovered', job_id = NULL, pin_date = NULL,"
            " updated = ? WHERE id = ?",
            (whole_seconds(), file_id),
        )

    def mark_gone(self, file_id: int, error: str) -> None:
        """The file was deleted before it was pinned: no longer a failure of the tree."""
        self._write(
            "UPDATE files SET state = 'gone', error = ?, updated = ? WHERE id = ?",
            (error, whole_seconds(), file_id),
        )

    def not_seen_since(self, root_ids: Sequence[int]) -> Iterator[FileRecord]:
        """Unfinished files under ``root_ids`` that this run's walk did not meet."""
        marks = ",".join("?" * len(root_ids))
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE root IN ({marks})"  # noqa: S608
            " AND state IN ('discovered', 'uploading', 'failed') AND state <> 'pinned'"
            " AND (seen_run IS NULL OR seen_run != ?)",
            (*root_ids, self.run_id),
        ).fetchall()
        return (_record(row) for row in rows)

    def set_prefix(self, file_id: int, prefix: str) -> None:
        """Record the digest of a large file's first bytes."""
        self._write("UPDATE files SET prefix = ? WHERE id = ?", (prefix, file_id))

    def twin_seen(self, size: int, prefix: str, exclude_id: int) -> bool:
        """Whether another file may have this content: same size, and a prefix that agrees.

        A file of the same size whose prefix is unknown counts as a possible twin if
        its content was sent (a row from before prefixes); one not yet handled will
        compare its own prefix when its turn comes.
        """
        if size <= WHOLE_FILE_FLOOR:
            return True  # no size index this small (such files are read whole): hash first
        row = self.conn.execute(
            f"SELECT 1 FROM files WHERE size = ? AND {LARGE_ONLY} AND id != ?"  # noqa: S608
            " AND state != 'skipped'"
            " AND (prefix = ? OR (prefix IS NULL AND cid IS NOT NULL)) LIMIT 1",
            (size, exclude_id, prefix),
        ).fetchone()
        return row is not None

    def set_cid(self, file_id: int, cid: str) -> None:
        """Record a CID computed locally (dry run, or before an upload)."""
        self._write("UPDATE files SET cid = ?, updated = ? WHERE id = ?",
                    (pack_cid(cid), whole_seconds(), file_id))

    def mark_failed(self, file_id: int, error: str) -> None:
        """The file could not be read or sent; the error says why."""
        self._write(
            "UPDATE files SET state = 'failed', error = ?, updated = ? WHERE id = ?",
            (error, whole_seconds(), file_id),
        )

    def known_cid(self, cid: str) -> FileRecord | None:
        """A file whose content (this CID) the service already has or is pinning."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE cid = ?"  # noqa: S608 - constant columns
            " AND state IN ('uploaded', 'pinned') LIMIT 1",
            (pack_cid(cid),),
        ).fetchone()
        return None if row is None else _record(row)

    def in_state(self, *states: State) -> Iterator[FileRecord]:
        """Every file in one of ``states``, by id (read in pages: the set may be huge)."""
        marks = ",".join("?" * len(states))
        # Not pinned: the partial index files_open has them (see _schema).
        open_only = "" if "pinned" in states else " AND state <> 'pinned'"
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM {_FROM} WHERE state IN ({marks}){open_only}"  # noqa: S608
                " AND files.id > ? ORDER BY files.id LIMIT 1000",
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

    def counts(self) -> dict[str, int]:
        """Files per state (every state present, zero if none)."""
        found = dict(self.conn.execute("SELECT state, n FROM state_counts"))
        return {state: int(found.get(state, 0)) for state in STATES}

    def all_files(self) -> Iterator[FileRecord]:
        """Every file, by id, read in pages."""
        return self.in_state(*STATES)
