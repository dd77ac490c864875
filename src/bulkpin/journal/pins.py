"""The journal of ``bulkpin pin``: what became of every CID, as items of the one items table.

Same file, schema and guarantees as ``push``'s journal (:class:`~.store.JournalStore`:
one run at a time, WAL, group commits, bound to one destination, with the
account index's tables). A CID is a row of ``files`` (:mod:`.schema`, schema
4), keyed by the CID, with push's states and job transitions (:mod:`.jobs`)::

    discovered ─▶ uploading ─▶ uploaded ─▶ pinned       (shown: discovered,
         │       (requested,   (requested,  └▶ failed     requested, pinned,
         │        no answer)    a job)                    failed)
         └───────────────────────────────▶ pinned / uploaded (the account already
                                            holds the CID, or has a job for it)

``uploading`` is committed *before* ``pinByHash`` is sent (:meth:`PinJournal.sync`),
so a ``kill -9`` at any instant leaves every CID that may have reached the
service marked as such; ``uploaded`` says its answer was recorded. A resumed
run looks such a CID up (account index, or ``pinJobs?pin-hash=``) before
requesting it again. What only a CID has (where the source listed it, its
PSA meta, when it was requested and pinned) is its ``pin_facts`` row. Lines of
a source that are no CID are kept in ``pin_bad_lines`` (by source and line),
for the report and the manifest.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from ..sources import BadLine, PinItem
from .jobs import JobTransitions, whole_seconds
from .packed import pack_cid, pack_id, unpack_id
from .schema import PIN_DIR, pin_display
from .store import STATES, State

if TYPE_CHECKING:
    from ..destination import Destination

__all__ = ["PIN_COUNTS", "PIN_STATES", "BadLineRecord", "PinJournal", "PinRecord", "PinState"]

#: A CID's state as ``pin`` shows it (status, manifest): sent or being sent is ``requested``.
PinState = Literal["discovered", "requested", "pinned", "failed"]
PIN_STATES: Final[tuple[PinState, ...]] = ("discovered", "requested", "pinned", "failed")

#: Items per shown state, from the counts the triggers keep (``status`` reads it too).
PIN_COUNTS: Final = (
    "SELECT CASE WHEN state IN ('uploading', 'uploaded') THEN 'requested' ELSE state END,"
    " SUM(n) FROM state_counts WHERE n > 0 GROUP BY 1"
)

_COLUMNS: Final = (
    "files.name, display, roots.path, modified, state, job_id, attempts, files.error,"
    " failed_since, seen_run, origin, meta, discovered_at, requested_at, pinned_at"
)
_FROM: Final = ("files JOIN roots ON roots.id = files.root"
                " JOIN pin_facts ON pin_facts.id = files.id")
#: A pin journal's items, by CID (the key's index: UNIQUE (dir, name)).
_MINE: Final = "files.dir = (SELECT id FROM dirs WHERE path = :dir)"


@dataclass(frozen=True, slots=True)
class PinRecord:
    """One CID: its item row and its ``pin_facts``."""

    cid: str
    name: str | None
    #: The source's ``meta`` as JSON text (None: none).
    meta: str | None
    source: str
    origin: str
    created: str | None
    #: The item's state (push's names: ``uploading``/``uploaded`` are ``requested``).
    state: State
    job_id: str | None
    discovered_at: float
    requested_at: float | None
    pinned_at: float | None
    error: str | None
    attempts: int
    failed_since: float | None
    #: The run that saw the CID before the :meth:`PinJournal.discover` that
    #: returned this record (None: never).
    seen_run: int | None

    @property
    def shown(self) -> PinState:
        """The state as ``pin`` names it."""
        return "requested" if self.state in ("uploading", "uploaded") else self.state  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class BadLineRecord:
    """A source entry that is no CID."""

    source: str
    line: int
    origin: str
    text: str
    reason: str


def _record(row: tuple[Any, ...]) -> PinRecord:
    (key, display, source, created, state, job_id, attempts, error, failed_since, seen_run,
     origin, meta, discovered_at, requested_at, pinned_at) = row
    return PinRecord(
        bytes(key).decode(), None if isinstance(display, int) else str(display), meta,
        bytes(source).decode("utf-8", "surrogatepass"), origin, created, state,
        None if job_id is None else unpack_id(job_id), discovered_at, requested_at,
        pinned_at, error, attempts, failed_since, seen_run,
    )


class PinJournal(JobTransitions):
    """What ``bulkpin pin`` learnt of every CID. Not thread-safe: one event loop."""

    def __init__(self, path: Path, *, destination: Destination | None = None,
                 read_only: bool = False) -> None:
        super().__init__(
            path, kind="pin",
            destination=destination.key if destination is not None else None,
            destination_label=str(destination) if destination is not None else None,
            read_only=read_only,
        )
        self._dir: int | None = None
        self._roots: dict[str, int] = {}

    # -- rows --

    def get(self, cid: str) -> PinRecord | None:
        """The row of ``cid``."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE {_MINE} AND files.name = :key",  # noqa: S608
            {"dir": PIN_DIR, "key": cid.encode()},
        ).fetchone()
        return None if row is None else _record(row)

    def _dir_id(self) -> int:
        if self._dir is None:
            row = self.conn.execute("SELECT id FROM dirs WHERE path = ?", (PIN_DIR,)).fetchone()
            self._dir = int(row[0]) if row is not None else int(
                self._write("INSERT INTO dirs (path) VALUES (?)", (PIN_DIR,)).lastrowid or 0)
        return self._dir

    def _root(self, source: str) -> int:
        """The source's row of ``roots``: to a CID what a PATH is to a file."""
        root = self._roots.get(source)
        if root is None:
            root = self._roots[source] = self.root_id(source.encode("utf-8", "surrogatepass"))
        return root

    def discover(self, item: PinItem, source: str) -> PinRecord:
        """Record a CID as the source listed it; returns its row as it was before.

        A CID met again keeps its state (it is the same content); its name and
        meta are taken from the first listing that gave them.
        """
        old = self.get(item.cid)
        if old is None:
            now = time.time()
            meta = json.dumps(item.meta, ensure_ascii=False, sort_keys=True) if item.meta \
                else None
            cursor = self._write(
                "INSERT INTO files (dir, name, display, root, size, mtime_ns, inode, state, cid,"
                " modified, updated, seen_run) VALUES (?, ?, ?, ?, 0, 0, 0, 'discovered', ?, ?,"
                " ?, ?)",
                (self._dir_id(), item.cid.encode(), pin_display(item.name), self._root(source),
                 pack_cid(item.cid), item.created, whole_seconds(), self.run_id),
            )
            self._write("INSERT INTO pin_facts (id, origin, meta, discovered_at)"
                        " VALUES (?, ?, ?, ?)",
                        (cursor.lastrowid, item.origin or source, meta, now))
            record = self.get(item.cid)
            assert record is not None
            return dataclasses.replace(record, seen_run=None)
        if old.seen_run != self.run_id:
            self._write("UPDATE files SET seen_run = ? WHERE cid = ?",
                        (self.run_id, pack_cid(item.cid)))
        return old

    def _facts(self, cid: str, sql: str, *params: object) -> None:
        """Set ``sql`` (columns of ``pin_facts``) on ``cid``'s facts."""
        self._write(f"UPDATE pin_facts SET {sql} WHERE id IN"  # noqa: S608 - constants
                    " (SELECT id FROM files WHERE cid = ?)", (*params, pack_cid(cid)))

    def mark_requested(self, cid: str) -> None:
        """``pinByHash`` is about to be sent (call :meth:`sync` before sending)."""
        self._write(
            "UPDATE files SET state = 'uploading', job_id = NULL, attempts = attempts + 1,"
            " error = NULL, failed_since = NULL, updated = ? WHERE cid = ?",
            (whole_seconds(), pack_cid(cid)),
        )
        self._facts(cid, "requested_at = ?", time.time())

    def mark_answered(self, cid: str, job_id: str | None, *, pinned: bool = False) -> None:
        """The service accepted the request (or had a job for it already)."""
        self._write(
            "UPDATE files SET state = ?, job_id = COALESCE(?, job_id), error = NULL,"
            " failed_since = NULL, updated = ? WHERE cid = ?",
            ("pinned" if pinned else "uploaded", None if job_id is None else pack_id(job_id),
             whole_seconds(), pack_cid(cid)),
        )
        if pinned:
            self._facts(cid, "pinned_at = ?", time.time())

    def mark_held(self, cid: str, *, job_id: str | None, pinned: bool) -> None:
        """The account already holds ``cid`` (``pinned``) or has a job for it."""
        self.mark_answered(cid, job_id, pinned=pinned)

    def mark_failed(self, cid: str, error: str) -> None:
        """The request was refused for good (the reason says why)."""
        self._write(
            "UPDATE files SET state = 'failed', error = ?, failed_since = NULL, updated = ?"
            " WHERE cid = ?",
            (error, whole_seconds(), pack_cid(cid)),
        )

    def forget_pin(self, cid: str) -> None:
        """The account no longer holds a CID this journal calls pinned: pin it again."""
        self._write(
            "UPDATE files SET state = 'discovered', job_id = NULL, updated = ? WHERE cid = ?",
            (whole_seconds(), pack_cid(cid)),
        )
        self._facts(cid, "pinned_at = NULL")

    def set_job_status(self, cid: str, status: str, job_id: str | None, error: str | None) -> int:
        """The items' transition (:mod:`.jobs`); a CID it pinned is stamped with the time."""
        pinned = super().set_job_status(cid, status, job_id, error)
        if pinned:
            self._facts(cid, "pinned_at = ?", time.time())
        return pinned

    def in_state(self, *states: State) -> Iterator[PinRecord]:
        """Every row in one of ``states`` (the items' names), in CID order, read in pages."""
        marks = ",".join(f":s{i}" for i in range(len(states)))
        last = b""
        while True:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM {_FROM} WHERE {_MINE} AND files.name > :last"  # noqa: S608
                f" AND state IN ({marks}) ORDER BY files.name LIMIT 1000",
                {"dir": PIN_DIR, "last": last, **{f"s{i}": s for i, s in enumerate(states)}},
            ).fetchall()
            if not rows:
                return
            yield from (_record(row) for row in rows)
            last = bytes(rows[-1][0])

    def all_pins(self) -> Iterator[PinRecord]:
        """Every row, in CID order."""
        return self.in_state(*STATES)

    def counts(self) -> dict[str, int]:
        """Rows per shown state (every state present), and ``bad``: the bad lines recorded."""
        found = dict(self.conn.execute(PIN_COUNTS))
        counts: dict[str, int] = {state: int(found.get(state, 0)) for state in PIN_STATES}
        (bad,) = self.conn.execute("SELECT COUNT(*) FROM pin_bad_lines").fetchone()
        counts["bad"] = int(bad)
        return counts

    # -- bad lines --

    def start_listing(self, source: str) -> None:
        """A listing of ``source`` begins: its bad lines will be recorded afresh."""
        self.write_many("DELETE FROM pin_bad_lines WHERE source = ?", [(source,)])

    def record_bad_line(self, source: str, bad: BadLine) -> None:
        """An entry of ``source`` that is no CID."""
        self._write(
            "INSERT OR REPLACE INTO pin_bad_lines VALUES (?, ?, ?, ?, ?, ?)",
            (source, bad.line, bad.origin, bad.text, bad.reason, self.run_id),
        )

    def bad_lines(self) -> Iterator[BadLineRecord]:
        """Every bad line recorded, by source and line."""
        for row in self.conn.execute(
            "SELECT source, line, origin, text, reason FROM pin_bad_lines ORDER BY source, line"
        ):
            yield BadLineRecord(str(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]))

    def failures(self, limit: int = 50) -> list[tuple[str, str]]:
        """The first ``limit`` failures: ``(what, why)``, bad lines first."""
        out: list[tuple[str, str]] = []
        for bad in self.bad_lines():
            quoted = "" if bad.text in bad.reason else f": {bad.text!r}"
            out.append((f"{bad.origin}:{bad.line}", f"{bad.reason}{quoted}"))
            if len(out) >= limit:
                return out
        for record in self.in_state("failed"):
            out.append((record.cid, record.error or "failed"))
            if len(out) >= limit:
                break
        return out
