"""The journal check: per file the walk found, is there work to do?

Each candidate is recorded in the journal (a changed file starts over) and
sorted: a path the walk could not take is reported; a path already met in this
run (overlapping PATHs, a repeated ``--files-from`` line) is taken once; a file
the journal knows as uploaded or pinned, unchanged, needs nothing, unless the
account index says the account no longer holds it; the rest goes to the upload
workers, marked for a ``pinJobs`` check first when an earlier run may have sent
it. When the walk is complete, unfinished files it did not meet and that no
longer exist are recorded as ``gone``, once. Runs on the event loop, between
the walk's stream and the workers' stream.
"""

from __future__ import annotations

import os
from typing import Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..core.accounting import Accounting
from ..core.crashpoints import crash_point
from ..core.events import FileEvent
from ..core.march import file_state, march, march_stream
from ..fs import Candidate
from ..journal import Journal, WalkRows, unpack_cid
from ..movers.local_files import WorkItem
from .account_index import AccountIndex
from .options import PushOptions

__all__ = ["Planner"]

#: What the fast path of :meth:`Planner.plan` reads of a row; the last column
#: says whether the account index holds the row's CID as a pin.
_ROW = ("name, id, size, mtime_ns, inode, state, cid, seen_run,"
        " EXISTS (SELECT 1 FROM account_pins WHERE account_pins.cid = files.cid)")


class Planner:
    """Sorts the walk's candidates against the journal."""

    def __init__(self, roots: list[bytes], options: PushOptions, journal: Journal,
                 accounting: Accounting, stop: anyio.Event,
                 index: AccountIndex | None = None, *, whole_walk: bool = True) -> None:
        self.options = options
        self.journal = journal
        self.acct = accounting
        self.stop = stop
        self.index = index
        # Only a walk of the PATHs themselves (not a --files-from list) can tell
        # that a file it did not meet is gone.
        self.whole_walk = whole_walk
        self._root_ids = [journal.root_id(root) for root in roots] or [journal.root_id(b"-")]
        # Rows marked seen by the fast path, written together (see _flush_seen).
        self._seen: list[int] = []
        self._rows = WalkRows(lambda: journal.conn, _ROW, before_read=self._flush_seen)

    async def run(
        self,
        receive: MemoryObjectReceiveStream[list[Candidate]],
        work: MemoryObjectSendStream[WorkItem],
    ) -> None:
        """Candidates in, work items out, until the walk ends or the run stops."""
        async with receive:
            if not await march_stream(receive, work, self.plan, stop=self.stop,
                                      stop_asked=self.acct.stop_asked,
                                      after_batch=self._after_batch):
                return
        if self.whole_walk:
            self._sweep_gone()
        self.acct.walk_finished()

    def _after_batch(self) -> None:
        self._flush_seen()
        self.journal.commit_if_due()

    def _flush_seen(self) -> None:
        if self._seen:
            self.journal.mark_seen(self._seen)
            self._seen = []

    def _sweep_gone(self) -> None:
        for record in self.journal.not_seen_since(self._root_ids):
            if os.path.lexists(record.path):
                continue  # filtered out or unreadable this time, but still there
            self.journal.mark_gone(record.id, "deleted before it was pinned")
            self.acct.not_taken(FileEvent(os.fsdecode(record.display), "gone", record.size,
                                          record.cid, "deleted before it was pinned"))

    def plan(self, cand: Candidate) -> WorkItem | None:
        """Record one candidate; the work it needs, or None."""
        root = self._root_ids[min(cand.root, len(self._root_ids) - 1)]
        if cand.kind != "file":
            self._report(cand, root)
            return None
        crash_point("walk")
        if self._unchanged(cand):
            return None
        return self._plan_closely(cand, root)

    def _plan_closely(self, cand: Candidate, root: int) -> WorkItem | None:
        """:meth:`plan` through the journal's row: every case, one lookup each."""
        journal, acct = self.journal, self.acct
        # This reads and writes the row itself, so the page's copy is stale from
        # now on, and the batch of seen marks must be in first.
        self._flush_seen()
        self._rows.drop(cand.path)
        record = journal.discover(cand.path, cand.display, root, cand.identity)
        step = march(file_state(record.state), record.cid, seen_run=record.seen_run,
                     run_id=journal.run_id, index=self.index)
        if step.verdict == "again":
            return None  # met before in this run: one file, taken once
        acct.found(cand.size)
        if step.verdict == "lost":
            journal.forget_pin(record.id)
            return WorkItem(journal.get_id(record.id))
        if step.verdict == "skip":
            acct.file_done(FileEvent(os.fsdecode(cand.display), "unchanged", record.size,
                                     record.cid))
            return None
        return WorkItem(record, verify=step.verify)

    def _unchanged(self, cand: Candidate) -> bool:
        """A re-run's common case, from the page of rows alone; False: not sure, look closer.

        The same outcome :meth:`plan` reaches through :meth:`Journal.discover`
        for a file recorded as uploaded, or as pinned while the account's pins
        include its CID, unchanged and not yet met in this run; without a row
        object, a lookup per file or a CID decoded twice.
        """
        row = self._rows.find(cand.path)
        if row is None:
            return False
        _, file_id, size, mtime_ns, inode, state, cid, seen_run, held = row
        ident, run_id = cand.identity, self.journal.run_id
        if cid is None or seen_run == run_id or \
                (size, mtime_ns, inode) != (ident.size, ident.mtime_ns, ident.inode):
            return False
        if not (state == "uploaded" or (state == "pinned" and (held or self.index is None))):
            return False
        self._seen.append(file_id)
        self._rows.update(cand.path, (*row[:7], run_id, held))
        self.acct.found(size)
        self.acct.file_done(FileEvent(os.fsdecode(cand.display), "unchanged", size,
                                      unpack_cid(cid)))
        return True

    def _report(self, cand: Candidate, root: int) -> None:
        """A path no stage takes: skipped (with why) or unreadable."""
        state: Literal["skipped", "failed"] = "skipped" if cand.kind == "skipped" else "failed"
        self.journal.discover(cand.path, cand.display, root, cand.identity, state=state,
                              error=cand.reason)
        self.acct.not_taken(FileEvent(os.fsdecode(cand.display), state, 0, None, cand.reason))
