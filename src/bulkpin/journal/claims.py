"""Contents claimed by the runs of one machine to one account: a claims file beside the journals.

:class:`~bulkpin.push.dedup.Claims` keeps one run from sending a content twice at once;
runs side by side (two trees sharing contents, ``--shard`` shares of one tree,
a run given its own ``--journal``) each listed the account before the others
sent anything, so each would send what the others are sending. Before it
uploads a CID a run claims it here; a run that finds it claimed by a live run
records its file as held on a hint (:meth:`~.files.Journal.mark_held`) and
waits for the account to show the job, as for any job it did not make: the
account is the truth, the claim only says where to look.

A run is live while it holds the ``flock`` of its lock file (the kernel lets go
of it when the process ends, ``kill -9`` included), so a claim of a dead run
is void and never waited on: nothing is lost. A claim that names the job its
upload made stays good after its run ends, for the runs whose listing is older
than the job; a run ignores such claims made before it started (its own
listing shows those jobs). Losing the file costs at most duplicates, never a
file: it is written without ``fsync``, and a damaged one is started afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import platformdirs

if TYPE_CHECKING:
    from ..core.poll import Poller
    from ..movers import PinFileMover

__all__ = ["ClaimState", "Elsewhere", "SharedClaims", "claims_path"]

#: Seconds a claim is kept after it was made (a day: no run lists the account that long).
KEEP_FOR = 86_400.0

#: Seconds another run is taken as live after its lock was last found held.
LIVE_FOR = 0.5

#: What the poller may learn of a hinted CID it sees no job for: a live run is
#: sending it (wait), its claim is void (send it now), or no claim says anything.
ClaimState = Literal["coming", "void"] | None

_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    cid TEXT PRIMARY KEY,
    run TEXT NOT NULL,
    job_id TEXT,
    since REAL NOT NULL
);
"""


def claims_path(destination_key: str) -> Path:
    """The claims file of a destination, beside its default journals (whatever ``--journal``).

    Not ``.sqlite``: what lists journals (``bulkpin status``) takes every such
    file there for one, and this one is not.
    """
    return (Path(platformdirs.user_state_dir("bulkpin")) / "journals" / destination_key
            / "claims.db")


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """The content is another run's: its job, if its upload was answered yet."""

    job_id: str | None


class SharedClaims:
    """This run's view of the claims file of its destination (open it with ``with``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run = uuid.uuid4().hex
        self._locks = path.parent / "runs"
        self._lock_fd: int | None = None
        self._conn: sqlite3.Connection | None = None
        self.opened_at = 0.0
        # Other runs found live, and when: a lock is tried at most every LIVE_FOR s.
        self._live: dict[str, float] = {}
        self._dead: set[str] = {""}

    # -- lifetime --

    def __enter__(self) -> SharedClaims:
        self._locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._locks / f"{self.run}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._lock_fd = fd
        self.opened_at = time.time()
        self._conn = self._connect()
        self._prune()
        return self

    def __exit__(self, *exc: object) -> None:
        # Claims without a job become void with the lock; those with one are
        # kept for the runs still going (and pruned by a later run).
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._locks / f"{self.run}.lock")
            os.close(self._lock_fd)
            self._lock_fd = None

    def _connect(self) -> sqlite3.Connection:
        for attempt in (0, 1):
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                # Killed runs lose nothing (the OS has the pages); a power cut
                # may cost a duplicate, which is all a claim ever saves.
                conn.execute("PRAGMA synchronous=OFF")
                conn.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                conn.close()
                if attempt:
                    raise
                # Damaged: a fresh file only forgets claims, never a file.
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(OSError):
                        os.unlink(f"{self.path}{suffix}")
            else:
                return conn
        raise AssertionError("unreachable")

    def _prune(self) -> None:
        conn = self._db
        runs = [r[0] for r in conn.execute("SELECT DISTINCT run FROM claims")]
        gone = [run for run in runs if not self._is_live(run)]
        with conn:
            conn.execute("DELETE FROM claims WHERE since < ?", (time.time() - KEEP_FOR,))
            conn.executemany("DELETE FROM claims WHERE run = ? AND job_id IS NULL",
                             [(run,) for run in gone])

    @property
    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "SharedClaims used outside its with block"
        return self._conn

    # -- liveness --

    def _is_live(self, run: str) -> bool:
        if run == self.run:
            return True
        if run in self._dead:
            return False
        now = time.monotonic()
        if now - self._live.get(run, -LIVE_FOR) < LIVE_FOR:
            return True
        try:
            fd = os.open(self._locks / f"{run}.lock", os.O_RDWR)
        except FileNotFoundError:
            self._dead.add(run)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._live[run] = now
            return True
        finally:
            os.close(fd)
        # Nobody holds it: its run ended without removing it (kill -9).
        with contextlib.suppress(OSError):
            os.unlink(self._locks / f"{run}.lock")
        self._dead.add(run)
        self._live.pop(run, None)
        return False

    def others_running(self) -> bool:
        """Whether another run to this destination is going now (its claims matter)."""
        for entry in os.scandir(self._locks):
            run = entry.name.removesuffix(".lock")
            if run != self.run and entry.name.endswith(".lock") and self._is_live(run):
                return True
        return False

    def attach(self, mover: PinFileMover, poller: Poller | None) -> None:
        """Let a push's uploads claim their contents here, and its poller ask about hints."""
        mover.shared = self
        if poller is not None:
            poller.claim_state = self.state
            poller.forget_claim = self.forget

    # -- claims --

    def _good(self, run: str, job_id: str | None, since: float) -> bool:
        """Whether a claim still says something to this run."""
        if job_id is not None:
            # A job made before this run started is in its listing, or gone.
            return since >= self.opened_at
        return self._is_live(run)

    def claim(self, cid: str) -> Elsewhere | None:
        """Claim ``cid`` for this run's upload; None if it is ours to send.

        Exclusive across processes: the look and the write are one
        ``BEGIN IMMEDIATE`` transaction.
        """
        conn = self._db
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT run, job_id, since FROM claims WHERE cid = ?",
                               (cid,)).fetchone()
            if row is not None and row[0] != self.run and self._good(*row):
                return Elsewhere(row[1])
            conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, NULL, ?)",
                         (cid, self.run, time.time()))
            return None
        finally:
            conn.execute("COMMIT")

    def sent(self, cid: str, job_id: str) -> None:
        """The upload of ``cid`` made job ``job_id``: the claim now says where to look."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)",
                (cid, self.run, job_id, time.time()))

    def release(self, cid: str) -> None:
        """This run's upload of ``cid`` did not go through: whoever waits on it, send it."""
        with self._db:
            self._db.execute("UPDATE claims SET run = '' WHERE cid = ? AND run = ?"
                             " AND job_id IS NULL", (cid, self.run))

    def forget(self, cid: str) -> None:
        """The account's job for ``cid`` failed: no claim of it holds any more."""
        with self._db:
            self._db.execute("DELETE FROM claims WHERE cid = ? AND run <> ?", (cid, self.run))

    def state(self, cid: str) -> ClaimState:
        """For a hinted CID the account shows no job for: wait, send now, or no word."""
        row = self._db.execute("SELECT run, job_id, since FROM claims WHERE cid = ?",
                               (cid,)).fetchone()
        if row is None or row[0] == self.run:
            return None
        run, job_id, since = row
        if job_id is not None:
            return None  # its job exists: the listing will show it (or time runs out)
        return "coming" if self._good(run, job_id, since) else "void"
