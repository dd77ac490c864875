"""The journal check: per file the walk found, is there work to do?

Each candidate is recorded in the journal (a changed file starts over) and
sorted: a path the walk could not take is reported; a file the journal knows as
uploaded or pinned, unchanged, needs nothing; the rest goes to the upload
workers, marked for a ``pinJobs`` check first when an earlier run may have sent
it. Runs on the event loop, between the walk's stream and the workers' stream.
"""

from __future__ import annotations

import os

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..fs import Candidate
from .accounting import Accounting
from .crashpoints import crash_point
from .events import FileEvent
from .journal import Journal
from .options import PushOptions
from .upload import WorkItem

__all__ = ["Planner"]


class Planner:
    """Sorts the walk's candidates against the journal."""

    def __init__(self, roots: list[bytes], options: PushOptions, journal: Journal,
                 accounting: Accounting, stop: anyio.Event) -> None:
        self.options = options
        self.journal = journal
        self.acct = accounting
        self.stop = stop
        self._root_ids = [journal.root_id(root) for root in roots] or [journal.root_id(b"-")]

    async def run(
        self,
        receive: MemoryObjectReceiveStream[list[Candidate]],
        work: MemoryObjectSendStream[WorkItem],
    ) -> None:
        """Candidates in, work items out, until the walk ends or the run stops."""
        async with receive, work:
            async for batch in receive:
                for cand in batch:
                    if self.stop.is_set():
                        return
                    item = self.plan(cand)
                    if item is not None:
                        await work.send(item)
                self.journal.commit_if_due()
            self.acct.walk_finished()

    def plan(self, cand: Candidate) -> WorkItem | None:
        """Record one candidate; the work it needs, or None."""
        journal, acct = self.journal, self.acct
        root = self._root_ids[min(cand.root, len(self._root_ids) - 1)]
        display = os.fsdecode(cand.display)
        if cand.kind == "skipped":
            journal.discover(cand.path, cand.display, root, cand.identity, state="skipped",
                             error=cand.reason)
            acct.not_taken(FileEvent(display, "skipped", 0, None, cand.reason))
            return None
        if cand.kind == "error":
            journal.discover(cand.path, cand.display, root, cand.identity, state="failed",
                             error=cand.reason)
            acct.not_taken(FileEvent(display, "failed", 0, None, cand.reason))
            return None
        crash_point("walk")
        acct.found(cand.size)
        record = journal.discover(cand.path, cand.display, root, cand.identity)
        if record.state in ("pinned", "uploaded") and not self.options.dry_run:
            acct.file_done(FileEvent(display, "unchanged", record.size, record.cid))
            return None
        if self.options.dry_run and record.cid is not None:
            acct.file_done(FileEvent(display, "hashed", record.size, record.cid))
            return None
        # "uploading": an earlier run may have sent it. "failed": try again, but a
        # failed job or an unknown outcome may have left a job behind, so check first.
        verify = record.state in ("uploading", "failed")
        return WorkItem(record, verify=verify)
