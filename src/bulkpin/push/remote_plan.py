"""The journal check for remote objects: per listed object, is there work to do?

The counterpart of :mod:`.plan`. A bucket object is described by its listing
(size, ETag), so it is sorted here with no request to the source: recorded
(a changed object starts over), taken once per run, passed over when the
journal knows it unchanged and uploaded or pinned (unless the account index
says the account no longer holds it), else handed to the upload workers,
marked for a ``pinJobs`` check when an earlier run may have sent it. A URL is
described only by its first GET, so every URL goes to a worker, which decides
there (:mod:`.remote`). Directory markers are recorded as ``skipped`` and bad
URL lines as ``failed``. When every listing ran to its end, unfinished objects
it no longer met are recorded as ``gone``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..core.accounting import Accounting
from ..core.crashpoints import crash_point
from ..core.events import FileEvent, FileOutcome
from ..core.march import Step, file_state, march, march_stream
from ..journal import FileRecord, Journal, discover_remote, record_not_taken, touch_remote
from ..sources.http import BadLine, UrlEntry
from ..sources.remote import Skipped
from .account_index import AccountIndex
from .options import PushOptions
from .remote_listing import Listed
from .remote_read import RemoteItem, identity_of, url_name

__all__ = ["RemotePlanner"]


class RemotePlanner:
    """Sorts listed objects against the journal."""

    def __init__(self, options: PushOptions, journal: Journal, accounting: Accounting,
                 stop: anyio.Event, index: AccountIndex | None, root_ids: list[int],
                 *, whole_listing: bool) -> None:
        self.options = options
        self.journal = journal
        self.acct = accounting
        self.stop = stop
        self.index = index
        self.root_ids = root_ids
        # A --files-from list names some keys only: it cannot tell one is gone.
        self.whole_listing = whole_listing

    async def run(self, receive: MemoryObjectReceiveStream[Listed],
                  work: MemoryObjectSendStream[RemoteItem]) -> None:
        """Listed objects in, work items out, until the listings end or the run stops."""
        async with receive:
            if not await march_stream(_one_by_one(receive), work, self.plan, stop=self.stop,
                                      stop_asked=self.acct.stop_asked,
                                      after_batch=self.journal.commit_if_due):
                return
        if self.whole_listing:
            self._sweep_gone()
        self.acct.walk_finished()

    def _sweep_gone(self) -> None:
        why = "no longer in the source's listing before it was pinned"
        for record in self.journal.not_seen_since(self.root_ids):
            self.journal.mark_gone(record.id, why)
            self.acct.not_taken(FileEvent(record.display.decode("utf-8", "replace"), "gone",
                                          record.size, record.cid, why))

    def plan(self, listed: Listed) -> RemoteItem | None:
        """Record one listed entry; the work it needs, or None."""
        entry = listed.entry
        if isinstance(entry, Skipped | BadLine):
            self._report(listed.root, entry)
            return None
        crash_point("walk")
        journal = self.journal
        if isinstance(entry, UrlEntry):
            # A URL goes to a worker, which opens it and compares what its answer says.
            record = touch_remote(journal, entry.url, listed.root)
            step = self._march(record, record.seen_run)
            item = RemoteItem(entry.url, url_name(entry), listed.root, entry, record.id)
        else:
            found = discover_remote(journal, entry.url, listed.root, identity_of(entry))
            record = journal.get_id(found.id)
            step = self._march(record, found.seen_run)
            item = RemoteItem(entry.url, listed.name, listed.root, entry, record.id,
                              verify=step.verify)
        if step.verdict == "again":
            return None  # listed twice (overlapping locations): taken once
        self.acct.found(record.size)
        if step.verdict == "lost":
            journal.forget_pin(record.id)
            return item
        done = self._already_done(step, record.cid) if not isinstance(entry, UrlEntry) else None
        if done is not None:
            self.acct.file_done(FileEvent(entry.url, done, record.size, record.cid))
            return None
        return item

    def _march(self, record: FileRecord, seen_run: int | None) -> Step:
        return march(file_state(record.state), record.cid, seen_run=seen_run,
                     run_id=self.journal.run_id, index=self.index)

    def _already_done(self, step: Step, cid: str | None) -> FileOutcome | None:
        """``unchanged`` (or, in a dry run, ``hashed``) when nothing is left to do."""
        if self.options.dry_run:
            return "hashed" if cid is not None else None
        return "unchanged" if step.verdict == "skip" else None

    def _report(self, root: int, entry: Skipped | BadLine) -> None:
        if isinstance(entry, Skipped):
            record_not_taken(self.journal, entry.url, root, "skipped", entry.reason)
            self.acct.not_taken(FileEvent(entry.url, "skipped", 0, None, entry.reason))
            return
        where = f"line {entry.line}: {entry.text}"
        record_not_taken(self.journal, where, root, "failed", entry.reason)
        self.acct.not_taken(FileEvent(where, "failed", 0, None, entry.reason))


async def _one_by_one(receive: AsyncIterable[Listed]) -> AsyncIterator[tuple[Listed]]:
    """The listings' entries as the march's batches: each is committed as it is planned."""
    async for listed in receive:
        yield (listed,)
