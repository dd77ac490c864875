"""The journal check: per CID the source listed, is there a request to make?

rclone's ``march`` on CIDs: each CID is recorded in the journal and held
against the account index (the destination's pins and unfinished jobs, listed
at the start of the run). A CID the account holds, or has a job for, is
recorded without a request ("already on the account"); one the journal calls
pinned needs nothing, unless the index says the account no longer holds it; one
an earlier run requested and got an answer for is left to the poller. The rest
goes to the request workers, marked for a ``pinJobs?pin-hash=`` look-up first
when an earlier run may have sent it and no index says otherwise.
"""

from __future__ import annotations

from ..core.march import Work, file_state, march
from ..journal import PinJournal, PinRecord
from ..push.account_index import AccountIndex
from ..sources import PinItem
from .accounting import PinAccounting
from .events import PinEvent, PinOutcome

__all__ = ["Planner", "WorkItem"]

#: A CID to request; ``verify`` when an earlier run may have requested it already.
WorkItem = Work[PinRecord]


class Planner:
    """Sorts listed CIDs against the journal and the account index."""

    def __init__(self, journal: PinJournal, accounting: PinAccounting,
                 index: AccountIndex | None, *, dry_run: bool) -> None:
        self.journal = journal
        self.acct = accounting
        self.index = index
        self.dry_run = dry_run

    def _done(self, record: PinRecord, outcome: PinOutcome, job_id: str | None = None) -> None:
        self.acct.done(PinEvent(record.cid, outcome, record.name, record.origin,
                                job_id or record.job_id, record.error))

    def plan(self, item: PinItem, source: str) -> WorkItem | None:
        """Record one listed CID; the request it needs, or None."""
        journal = self.journal
        record = journal.discover(item, source)
        step = march(file_state(record.state), item.cid,
                     seen_run=record.seen_run, run_id=journal.run_id, index=self.index,
                     ask_held=True)
        if step.verdict == "again":
            return None  # listed twice in this run (a PSA page overlap, a repeated line)
        self.acct.take()
        if self.dry_run:
            self._done(record, "unchanged" if record.state == "pinned" else "planned")
            return None
        held = step.held
        if step.verdict == "lost":
            journal.forget_pin(item.cid)
            return WorkItem(record)
        if step.verdict == "skip":
            # Pinned, or requested by an earlier run which got its job: the poller follows it.
            if record.state != "pinned" and held is not None and held.pinned:
                journal.mark_held(record.cid, job_id=held.job_id, pinned=True)
            self._done(record, "unchanged")
            return None
        if held is not None:
            journal.mark_held(record.cid, job_id=held.job_id, pinned=held.pinned)
            self._done(record, "held", held.job_id)
            return None
        return WorkItem(record, step.verify)
