"""The journal's file: SQLite in WAL mode, one run at a time, crash-safe commits.

Durability rules, which make a ``kill -9`` at any instant safe:

- ``uploading`` is committed before the first byte of an upload is sent
  (:meth:`JournalStore.sync`, a group commit shared by every worker), so a
  crash can never hide an upload that may have reached the service;
- every other transition is committed in batches; losing one only means an
  item is checked again against ``pinJobs`` on the next run;
- commits use ``synchronous=FULL``: a power cut loses no committed mark.

One run at a time: the store holds an exclusive ``flock`` on ``FILE.lock``
for its lifetime; a second run on the same journal is refused. What the rows
mean is :mod:`.journal`'s business; this module only keeps them safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, Self

import anyio

from .errors import JournalError, JournalLocked
from .schema import (
    PIN_READABLE_VERSIONS,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    UPGRADABLE_VERSIONS,
    Kind,
    kind_of,
    upgrade,
    version_of,
)

__all__ = ["STATES", "JournalStore", "State"]

State = Literal["discovered", "uploading", "uploaded", "pinned", "failed", "skipped", "gone"]
STATES: tuple[State, ...] = (
    "discovered", "uploading", "uploaded", "pinned", "failed", "skipped", "gone"
)


def _root_print_key(root: int) -> str:
    return f"root_fingerprint:{root}"


class JournalStore:
    """The open journal file, its lock and its commits. Not thread-safe: one event loop."""

    def __init__(self, path: Path, *, kind: Kind, profile_name: str | None = None,
                 destination: str | None = None, destination_label: str | None = None,
                 read_only: bool = False) -> None:
        self.path = path
        #: What kind of run keeps it (``push``, ``pin``, ``verify``): each its own rows.
        self.kind = kind
        #: Opened to read only, with no lock: a run may be writing it meanwhile
        #: (WAL lets a reader see the last commit), and nothing here may write.
        self.read_only = read_only
        #: Set when a journal without a destination was bound to one on open: its
        #: "pinned" rows were learnt from an unknown account and must be verified.
        self.upgraded = False
        #: The current run (:meth:`begin_run`); 0 outside a run.
        self.run_id = 0
        self._lock_fd = -1
        self._conn: sqlite3.Connection | None = None
        self._writes = 0  # statements issued since the journal opened
        self._committed = 0  # ... of which committed
        self._commit_lock = anyio.Lock()
        self._last_commit = time.monotonic()
        if read_only:
            self._open_read_only()
        else:
            self._open(profile_name, destination, destination_label)
        # A push journal may be read with no profile named (``profile_name=None``).
        self.profile_name = profile_name or self.meta("profile")

    # -- lifecycle --

    def _open_read_only(self) -> None:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False)
            version = version_of(conn)
            stored = dict(conn.execute("SELECT key, value FROM meta").fetchall()) \
                if version is not None else {}
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read the journal {self.path}: {exc}") from exc
        try:
            self._check_readable(version)
            self._check_kind(stored)
        except JournalError:
            conn.close()
            raise
        self._conn = conn

    def _check_readable(self, version: str | None) -> None:
        if version == "1":
            raise JournalError(f"{self.path} was written by an older bulkpin; a run on it"
                               " brings it up to date")
        if self.kind == "pin" and version in READABLE_VERSIONS \
                and version not in PIN_READABLE_VERSIONS:
            raise JournalError(f"{self.path} was written by an older bulkpin (its CIDs not yet"
                               " items); a run on it brings it up to date")
        if version not in READABLE_VERSIONS:
            raise JournalError(f"{self.path} was written by an incompatible bulkpin")

    def _open(self, profile_name: str | None, destination: str | None,
              destination_label: str | None) -> None:
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
                "wait for it to finish, or give this run its own --journal: runs on this"
                " machine to one account share their claims, so none uploads what another"
                " is sending"
            ) from None
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, isolation_level="DEFERRED", check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            # One transaction: an upgrade cut short leaves the old journal whole.
            conn.execute("BEGIN IMMEDIATE")
            self._check_upgradable(version_of(conn))
            upgrade(conn)
            stored = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            self._check_kind(stored)
            self._check_profile(stored, profile_name)
            if destination is not None:
                self._bind(conn, stored, destination, destination_label or destination)
            conn.executemany(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                [("schema", SCHEMA_VERSION), ("kind", self.kind),
                 *([("profile", profile_name)] if profile_name is not None else [])],
            )
            conn.commit()
        except (sqlite3.DatabaseError, JournalError) as exc:
            # Roll back, not close: an upgrade or binding cut short leaves the file
            # as it was and no lock of SQLite's outlives ours, while a close would
            # checkpoint and delete a damaged journal's -wal, which may hold its rows.
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.rollback()
            self._release_lock()
            if isinstance(exc, JournalError):
                raise
            raise JournalError(f"cannot use the journal {self.path}: {exc}") from exc
        self._conn = conn

    def _check_upgradable(self, version: str | None) -> None:
        if version not in (None, *UPGRADABLE_VERSIONS):
            raise JournalError(f"{self.path} was written by an incompatible bulkpin")

    def _check_kind(self, stored: dict[str, str]) -> None:
        """Refuse another kind's journal (a pin journal given to a push, say)."""
        # A new file has no kind yet; schema 2 told it by the profile.
        kind = kind_of(stored) if {"kind", "profile"} & stored.keys() else self.kind
        if kind != self.kind:
            raise JournalError(f"{self.path} is a `bulkpin {kind}` journal, not one of"
                               f" `bulkpin {self.kind}`; give this run another --journal")

    def _check_profile(self, stored: dict[str, str], profile_name: str | None) -> None:
        if profile_name is not None and stored.get("profile", profile_name) != profile_name:
            raise JournalError(
                f"{self.path} holds CIDs of profile {stored['profile']!r}, not "
                f"{profile_name!r}; use another --journal for another profile"
            )

    def _bind(self, conn: sqlite3.Connection, stored: dict[str, str], destination: str,
              label: str) -> None:
        """Bind the journal to ``destination``, or refuse one bound to another."""
        bound = stored.get("destination")
        if bound == destination:
            return
        if bound is not None:
            raise JournalError(
                f"the journal {self.path} belongs to {stored.get('destination_label', bound)},"
                f" not to {label}: what it says was learnt from that account. Leave out"
                " --journal (each destination has its own) or give another file"
            )
        # A journal from before destinations: whatever it calls pinned or
        # uploaded may have gone to another account. Keep the CIDs (no file is
        # read again for them) but mark the rows as possibly sent, so each is
        # checked against this account before it is called pinned or sent again.
        cursor = conn.execute(
            "UPDATE files SET state = 'uploading' WHERE state IN ('pinned', 'uploaded')"
        )
        self.upgraded = cursor.rowcount > 0
        conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("destination", destination), ("destination_label", label)],
        )

    def write_many(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        """Run one statement over ``rows`` (committed with the next commit)."""
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the journal {self.path}: {exc}") from exc
        self._writes += 1

    def meta(self, key: str) -> str | None:
        """A value of the journal's ``meta`` table."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the journal's ``meta`` table (committed with the next commit)."""
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection."""
        if self._conn is None:
            raise JournalError("the journal is closed")
        return self._conn

    def _write(self, sql: str,
               params: Sequence[object] | Mapping[str, object] = ()) -> sqlite3.Cursor:
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
        # Imported here: the run machinery imports the journal, and this is its test hook.
        from ..core.crashpoints import crash_during  # noqa: PLC0415

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

    def counts(self) -> dict[str, int]:
        """Rows per state: each kind of journal counts its own rows (files, CIDs)."""
        raise NotImplementedError

    def begin_run(self) -> int:
        """Record a new run; returns its id."""
        cursor = self._write("INSERT INTO runs (started) VALUES (?)", (time.time(),))
        self.commit()
        self.run_id = int(cursor.lastrowid or 0)
        return self.run_id

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

    def set_root_cid(self, root: int, cid: str | None, error: str | None = None,
                     fingerprint: bytes | None = None) -> None:
        """Record the locally computed root CID of a PATH argument (or why there is none).

        ``fingerprint`` is the digest of the walk that computed the CID
        (:class:`bulkpin.fs.TreeFingerprint`). It is kept in ``meta`` with the
        CID it vouches for, so it needs no schema change, and a CID written
        without it (by an older bulkpin) never pairs with a stale one.
        """
        self._write("UPDATE roots SET cid = ?, error = ? WHERE id = ?", (cid, error, root))
        key = _root_print_key(root)
        if cid is not None and fingerprint is not None:
            self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        (key, f"{fingerprint.hex()} {cid}"))
        else:
            self._write("DELETE FROM meta WHERE key = ?", (key,))

    def root_cid_of_walk(self, root: int, fingerprint: bytes) -> str | None:
        """The recorded root CID of a PATH argument, if a walk with ``fingerprint`` computed it."""
        value = self.meta(_root_print_key(root))
        if value is None:
            return None
        digest, _, cid = value.partition(" ")
        if digest != fingerprint.hex():
            return None
        row = self.conn.execute("SELECT cid FROM roots WHERE id = ?", (root,)).fetchone()
        return cid if row is not None and row[0] == cid else None

    def roots(self) -> list[tuple[int, bytes, str | None, str | None]]:
        """Every PATH argument: ``(id, path, cid, error)``."""
        return [
            (int(r[0]), bytes(r[1]), r[2], r[3])
            for r in self.conn.execute("SELECT id, path, cid, error FROM roots ORDER BY id")
        ]

