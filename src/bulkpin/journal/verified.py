"""The verification journal: what each CID of an input was proven to be, and when.

The one crash-safe store (:class:`~.store.JournalStore`: one run at a time,
WAL, group commits); its rows are the schema's ``verified``, keyed by CID,
and ``verify_changed``. What an outcome is, and how it is told, is
:mod:`bulkpin.verify`'s: this module stores the words and numbers it is given.

An outcome is committed (:meth:`JournalStore.sync`) before the run reports
it, so after a ``kill -9`` at any instant every CID the run said was proven
is proven in the file, and a resumed run checks none of them again.
``seen_run`` marks the CIDs the current run's input holds: the counts are of
those, so a CID the input no longer lists is kept but not counted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from .store import JournalStore

__all__ = ["CHANGED", "OUTCOMES", "REPORT_COLUMNS", "OutcomeName", "Proof", "VerifyJournal"]

OutcomeName = Literal["retrievable", "incomplete", "corrupt", "wrong-size", "unreachable"]
OUTCOMES: Final[tuple[OutcomeName, ...]] = (
    "retrievable", "incomplete", "corrupt", "wrong-size", "unreachable",
)

#: The report's columns, in order (:meth:`VerifyJournal.report_rows`). A file
#: changed on disk has a row of its own: ``outcome`` :data:`CHANGED`, ``cid``
#: the one pushed, ``disk_cid`` the one its bytes have now (empty: gone, or
#: not readable; ``reason`` says which).
REPORT_COLUMNS: Final = (
    "cid", "name", "size", "outcome", "gateway", "ttfb", "bytes_per_second", "bytes",
    "missing_blocks", "missing", "failures", "reason", "checked_at", "proven_at", "disk_cid",
)
#: The report's outcome of a pushed file whose content on disk is no longer what was pushed.
CHANGED: Final = "changed"

#: Missing block CIDs kept per CID: their count is always kept; a DAG with a
#: million missing leaves must not make a million-CID row.
MISSING_KEPT: Final = 100


@dataclass(frozen=True, slots=True)
class Proof:
    """What the journal knew of a CID before this run saw it."""

    outcome: OutcomeName | None
    proven_at: float | None
    #: This run met the CID already (the input lists it twice).
    seen_now: bool


class VerifyJournal(JournalStore):
    """What ``bulkpin verify`` proved of every CID of one input. Not thread-safe."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, kind="verify")

    def see(self, cid: str, name: str, size: int | None) -> Proof:
        """The input lists ``cid``: mark it seen by this run; what was known of it."""
        row = self.conn.execute(
            "SELECT outcome, proven_at, seen_run FROM verified WHERE cid = ?", (cid,)
        ).fetchone()
        if row is None:
            self._write("INSERT INTO verified (cid, name, size, seen_run) VALUES (?, ?, ?, ?)",
                        (cid, name, size, self.run_id))
            return Proof(None, None, seen_now=False)
        if row[2] == self.run_id:
            return Proof(row[0], row[1], seen_now=True)
        self._write("UPDATE verified SET seen_run = ?, size = COALESCE(?, size) WHERE cid = ?",
                    (self.run_id, size, cid))
        return Proof(row[0], row[1], seen_now=False)

    def record(self, cid: str, outcome: OutcomeName, *, gateway: str | None = None,
               ttfb: float | None = None, bytes_per_second: float | None = None,
               received: int | None = None, missing: Sequence[str] = (),
               failures: Sequence[dict[str, Any]] = (), reason: str | None = None) -> None:
        """What the gateways showed of a CID (commit with :meth:`sync` before telling it).

        ``missing`` keeps its count and its first :data:`MISSING_KEPT` CIDs.
        """
        now = time.time()
        self._write(
            "UPDATE verified SET outcome = ?, gateway = ?, ttfb = ?, bytes_per_second = ?,"
            " bytes = ?, missing = ?, failures = ?, reason = ?, checked_at = ?,"
            " proven_at = CASE WHEN ? THEN ? ELSE proven_at END WHERE cid = ?",
            (outcome, gateway, ttfb, bytes_per_second, received,
             json.dumps([len(missing), *missing[:MISSING_KEPT]]) if missing else None,
             json.dumps(list(failures)) if failures else None,
             reason, now, outcome == "retrievable", now, cid),
        )

    def record_changed(self, path: bytes, name: str, pushed: str, disk: str | None,
                       reason: str) -> None:
        """A pushed file's content on disk is no longer what was pushed."""
        self._write("INSERT OR REPLACE INTO verify_changed VALUES (?, ?, ?, ?, ?, ?)",
                    (path, name, pushed, disk, reason, self.run_id))

    def counts(self) -> dict[str, int]:
        """This run's CIDs per outcome, ``unchecked``, and ``changed`` files (every key present)."""
        found = dict(self.conn.execute(
            "SELECT COALESCE(outcome, 'unchecked'), COUNT(*) FROM verified"
            " WHERE seen_run = ? GROUP BY 1", (self.run_id,)).fetchall())
        counts = {name: int(found.get(name, 0)) for name in (*OUTCOMES, "unchecked")}
        counts["changed"] = int(self.conn.execute(
            "SELECT COUNT(*) FROM verify_changed WHERE seen_run = ?", (self.run_id,)
        ).fetchone()[0])
        return counts

    def failures(self, limit: int = 50) -> list[tuple[str, str]]:
        """The first ``limit`` findings of this run: ``(what, why)``."""
        out = [(f"{name} ({cid})", f"{outcome}: {reason}") for cid, name, outcome, reason in
               self.conn.execute(
                   "SELECT cid, name, outcome, reason FROM verified WHERE seen_run = ?"
                   " AND outcome IS NOT NULL AND outcome <> 'retrievable' LIMIT ?",
                   (self.run_id, limit))]
        out += [(name, f"changed on disk: {reason}") for name, reason in self.conn.execute(
            "SELECT name, reason FROM verify_changed WHERE seen_run = ? LIMIT ?",
            (self.run_id, limit))]
        return out[:limit]

    def corrupt_gateways(self) -> dict[str, int]:
        """Gateways that served a wrong block this run, with how many CIDs each."""
        return {str(g): int(n) for g, n in self.conn.execute(
            "SELECT gateway, COUNT(*) FROM verified WHERE seen_run = ? AND outcome = 'corrupt'"
            " GROUP BY gateway ORDER BY 2 DESC", (self.run_id,))}

    def report_rows(self) -> Iterator[dict[str, Any]]:
        """One row per CID of this run, then one per file changed on disk (read in pages)."""
        yield from self._cid_rows()
        yield from self._changed_rows()

    def _changed_rows(self) -> Iterator[dict[str, Any]]:
        last = b""
        while True:
            rows = self.conn.execute(
                "SELECT path, name, pushed_cid, disk_cid, reason FROM verify_changed"
                " WHERE seen_run = ? AND path > ? ORDER BY path LIMIT 1000",
                (self.run_id, last)).fetchall()
            if not rows:
                return
            for _, name, pushed, disk, reason in rows:
                yield {"cid": pushed, "name": name, "outcome": CHANGED, "reason": reason,
                       "disk_cid": disk}
            last = rows[-1][0]

    def _cid_rows(self) -> Iterator[dict[str, Any]]:
        last = ""
        while True:
            rows = self.conn.execute(
                "SELECT cid, name, size, outcome, gateway, ttfb, bytes_per_second, bytes,"
                " missing, failures, reason, checked_at, proven_at FROM verified"
                " WHERE seen_run = ? AND cid > ? ORDER BY cid LIMIT 1000",
                (self.run_id, last)).fetchall()
            if not rows:
                return
            for (cid, name, size, outcome, gateway, ttfb, bps, received, missing, failures,
                 reason, checked_at, proven_at) in rows:
                held = json.loads(missing) if missing else [0]
                yield {
                    "cid": cid, "name": name, "size": size, "outcome": outcome or "unchecked",
                    "gateway": gateway, "ttfb": ttfb, "bytes_per_second": bps,
                    "bytes": received, "missing_blocks": held[0],
                    "missing": " ".join(str(c) for c in held[1:]) or None,
                    "failures": "; ".join(f"{f['gateway']}: {f['kind']}"
                                          f"{'' if f['status'] is None else ' ' + str(f['status'])}"
                                          for f in json.loads(failures)) if failures else None,
                    "reason": reason, "checked_at": checked_at, "proven_at": proven_at,
                    "disk_cid": None,
                }
            last = rows[-1][0]
