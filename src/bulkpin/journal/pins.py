"""The journal of ``bulkpin pin``: what became of every CID, in the one crash-safe store.

Same file format and guarantees as ``push``'s journal (:class:`~.store.JournalStore`:
one run at a time, WAL, group commits, bound to one destination, with the
account index's tables); its rows are the schema's ``pins``, keyed by CID::

    discovered ─▶ requested ─▶ pinned
         │            └──────▶ failed (the job failed past the wait timeout,
         │                             or the service refused the request)
         └───────────────────▶ pinned / requested (the account already holds
                                the CID, or has a job for it: no request)

``requested`` is committed *before* ``pinByHash`` is sent (:meth:`PinJournal.sync`),
so a ``kill -9`` at any instant leaves every CID that may have reached the
service marked as such; ``answered`` says whether its answer was recorded. A
resumed run looks such a CID up (account index, or ``pinJobs?pin-hash=``)
before requesting it again. Lines of a source that are no CID are kept in
``pin_bad_lines`` (by source and line), for the report and the manifest.

Its job transitions are :mod:`.jobs`'s, the same as push's (a
:class:`~.job_book.JobBook`), so one poller follows both.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from ..sources import BadLine, PinItem
from .jobs import PIN_JOBS, JobTransitions

if TYPE_CHECKING:
    from ..destination import Destination

__all__ = ["PIN_STATES", "BadLineRecord", "PinJournal", "PinRecord", "PinState"]

PinState = Literal["discovered", "requested", "pinned", "failed"]
PIN_STATES: Final[tuple[PinState, ...]] = ("discovered", "requested", "pinned", "failed")

_COLUMNS: Final = (
    "cid, name, meta, source, origin, created, state, answered, job_id, discovered_at,"
    " requested_at, pinned_at, error, attempts, failed_since, seen_run"
)


@dataclass(frozen=True, slots=True)
class PinRecord:
    """One row of ``pins``."""

    cid: str
    name: str | None
    #: The source's ``meta`` as JSON text (None: none).
    meta: str | None
    source: str
    origin: str
    created: str | None
    state: PinState
    answered: bool
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


@dataclass(frozen=True, slots=True)
class BadLineRecord:
    """A source entry that is no CID."""

    source: str
    line: int
    origin: str
    text: str
    reason: str


def _record(row: tuple[object, ...]) -> PinRecord:
    values = list(row)
    values[7] = bool(values[7])
    return PinRecord(*values)  # type: ignore[arg-type]


class PinJournal(JobTransitions):
    """What ``bulkpin pin`` learnt of every CID. Not thread-safe: one event loop."""

    JOBS = PIN_JOBS

    def __init__(self, path: Path, *, destination: Destination | None = None,
                 read_only: bool = False) -> None:
        super().__init__(
            path, kind="pin",
            destination=destination.key if destination is not None else None,
            destination_label=str(destination) if destination is not None else None,
            read_only=read_only,
        )

    # -- rows --

    def get(self, cid: str) -> PinRecord | None:
        """The row of ``cid``."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM pins WHERE cid = ?", (cid,)  # noqa: S608 - constant
        ).fetchone()
        return None if row is None else _record(row)

    def discover(self, item: PinItem, source: str) -> PinRecord:
        """Record a CID as the source listed it; returns its row as it was before.

        A CID met again keeps its state (it is the same content); its name and
        meta are taken from the first listing that gave them.
        """
        old = self.get(item.cid)
        now = time.time()
        if old is None:
            meta = json.dumps(item.meta, ensure_ascii=False, sort_keys=True) if item.meta \
                else None
            self._write(
                "INSERT INTO pins (cid, name, meta, source, origin, created, state,"
                " discovered_at, seen_run, updated) VALUES (?, ?, ?, ?, ?, ?, 'discovered',"
                " ?, ?, ?)",
                (item.cid, item.name, meta, source, item.origin or source, item.created, now,
                 self.run_id, now),
            )
            record = self.get(item.cid)
            assert record is not None
            return dataclasses.replace(record, seen_run=None)
        if old.seen_run != self.run_id:
            self._write("UPDATE pins SET seen_run = ? WHERE cid = ?", (self.run_id, item.cid))
        return old

    def mark_requested(self, cid: str) -> None:
        """``pinByHash`` is about to be sent (call :meth:`sync` before sending)."""
        now = time.time()
        self._write(
            "UPDATE pins SET state = 'requested', answered = 0, job_id = NULL,"
            " requested_at = ?, attempts = attempts + 1, error = NULL, failed_since = NULL,"
            " updated = ? WHERE cid = ?",
            (now, now, cid),
        )

    def mark_answered(self, cid: str, job_id: str | None, *, pinned: bool = False) -> None:
        """The service accepted the request (or had a job for it already)."""
        now = time.time()
        self._write(
            "UPDATE pins SET state = ?, answered = 1, job_id = COALESCE(?, job_id),"
            " pinned_at = CASE WHEN ? THEN ? ELSE pinned_at END, error = NULL,"
            " failed_since = NULL, updated = ? WHERE cid = ?",
            ("pinned" if pinned else "requested", job_id, pinned, now, now, cid),
        )

    def mark_held(self, cid: str, *, job_id: str | None, pinned: bool) -> None:
        """The account already holds ``cid`` (``pinned``) or has a job for it."""
        self.mark_answered(cid, job_id, pinned=pinned)

    def mark_failed(self, cid: str, error: str) -> None:
        """The request was refused for good (the reason says why)."""
        self._write(
            "UPDATE pins SET state = 'failed', error = ?, failed_since = NULL, updated = ?"
            " WHERE cid = ?",
            (error, time.time(), cid),
        )

    def forget_pin(self, cid: str) -> None:
        """The account no longer holds a CID this journal calls pinned: pin it again."""
        self._write(
            "UPDATE pins SET state = 'discovered', answered = 0, job_id = NULL,"
            " pinned_at = NULL, updated = ? WHERE cid = ?",
            (time.time(), cid),
        )

    def in_state(self, *states: PinState) -> Iterator[PinRecord]:
        """Every row in one of ``states``, in CID order, read in pages."""
        marks = ",".join("?" * len(states))
        last = ""
        while True:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM pins WHERE state IN ({marks}) AND cid > ?"  # noqa: S608
                " ORDER BY cid LIMIT 1000",
                (*states, last),
            ).fetchall()
            if not rows:
                return
            yield from (_record(row) for row in rows)
            last = str(rows[-1][0])

    def all_pins(self) -> Iterator[PinRecord]:
        """Every row, in CID order."""
        return self.in_state(*PIN_STATES)

    def counts(self) -> dict[str, int]:
        """Rows per state (every state present), and ``bad``: the bad lines recorded."""
        found = dict(self.conn.execute("SELECT state, COUNT(*) FROM pins GROUP BY state"))
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

    # -- the poller's side (JobBook) --

    # A pin request is the same request whoever made the job first: a CID held
    # by the account's job is settled (migrate.plan), never a hint to act on.
    def hinted_cids(self) -> set[str]:
        """None: see above."""
        return set()

    def revive_hinted(self, cid: str) -> list[int]:
        """Nothing to revive: see :meth:`hinted_cids`."""
        return []

    def drop_hints(self, cid: str) -> None:
        """Nothing to drop: see :meth:`hinted_cids`."""
