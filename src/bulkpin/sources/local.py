"""The local walk as a source of ``push``: PATHs (or a ``--files-from`` list) to work.

The walk (:mod:`bulkpin.fs`) runs in a thread and hands the march batches of
candidates. Each is recorded in the journal (a changed file starts over) and
sorted: a path the walk could not take is reported; a path already met in
this run (overlapping PATHs, a repeated ``--files-from`` line) is taken once;
a file the journal knows as uploaded or pinned, unchanged, needs nothing,
unless the account index says the account no longer holds it; the rest goes
to the movers (:mod:`bulkpin.movers.local_files`), marked for a ``pinJobs``
check first when an earlier run may have sent it.

What only a local source has, as its hooks: the walk's page reader (a
re-run's unchanged file settled from a page of rows, with no lookup of its
own), the gone-file sweep by path (unfinished files a whole walk did not meet
and that no longer exist), and each PATH's root CID after the stages, kept
with the fingerprint of the walk that computed it (:mod:`bulkpin.push.roots`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Literal

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ..core.accounting import Accounting
from ..core.crashpoints import crash_point
from ..core.events import FileEvent
from ..core.march import file_state, march
from ..fs import Candidate, batched, files_from, walk_candidates
from ..journal import FileRecord, Journal, WalkRows, unpack_cid
from ..movers.local_files import LocalFiles, WorkItem
from ..movers.pin_file import PinFileMover
from ..push.account_index import AccountIndex
from ..push.manifest import SHARD_META
from ..push.options import PushOptions
from ..push.roots import WalkPrints, root_cids

__all__ = ["LocalMarch", "LocalSource"]

#: What the fast path of :meth:`LocalMarch.plan` reads of a row; the last column
#: says whether the account index holds the row's CID as a pin.
_ROW = ("name, id, size, mtime_ns, inode, state, cid, seen_run,"
        " EXISTS (SELECT 1 FROM account_pins WHERE account_pins.cid = files.cid)")


class LocalSource:
    """Local PATHs, walked, or the files a ``--files-from`` list names."""

    noun = "file(s)"
    dry_run_copy = True
    shares_claims = True
    revives = True

    def __init__(self, roots: list[bytes], options: PushOptions,
                 file_list: Iterable[bytes] | None = None) -> None:
        self._roots = roots
        self.options = options
        self.file_list = file_list
        self.walked = WalkPrints(options)

    @property
    def roots(self) -> list[bytes]:
        return self._roots

    def begin(self, journal: Journal) -> list[int]:
        # The manifest's root rows say which share of the tree it holds, so a
        # merge can tell that a shard is missing (manifests.merge).
        shard = self.options.selection.shard
        journal.set_meta(SHARD_META, str(shard) if shard is not None else "")
        return [journal.root_id(root) for root in self._roots] or [journal.root_id(b"-")]

    def _candidates(self) -> Iterable[Candidate]:
        options = self.options
        if self.file_list is not None:
            return files_from(self.file_list, options.selection,
                              follow_symlinks=options.follow_symlinks)
        return walk_candidates(
            self._roots, options.selection, hidden=options.hidden,
            follow_symlinks=options.follow_symlinks,
            observe=self.walked.observe if self.walked.enabled else None)

    async def listing(self, send: MemoryObjectSendStream[Sequence[Candidate]],
                      root_ids: list[int], stop: anyio.Event) -> None:
        """The walk, in a thread, handing batches to the loop."""
        candidates = self._candidates()

        def run() -> None:
            for batch in batched(candidates):
                if stop.is_set():
                    return
                try:
                    anyio.from_thread.run(send.send, batch)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # the march stopped (the run is stopping): nothing to hand on

        async with send:
            await anyio.to_thread.run_sync(run, abandon_on_cancel=True)

    def marcher(self, journal: Journal, root_ids: list[int], acct: Accounting,
                index: AccountIndex | None) -> LocalMarch:
        # Only a walk of the PATHs themselves (not a --files-from list) can tell
        # that a file it did not meet is gone.
        return LocalMarch(journal, root_ids, acct, index, whole=self.file_list is None)

    def mover(self, mover: PinFileMover) -> LocalFiles:
        return LocalFiles(mover)

    def revived(self, record: FileRecord) -> WorkItem:
        return WorkItem(record)

    async def finish(self, journal: Journal) -> list[tuple[str, str | None]]:
        """Each PATH's root CID, after a walk of the PATHs that ran to its end."""
        if self.file_list is not None:
            return []
        return await anyio.to_thread.run_sync(
            root_cids, self._roots, self.options, journal, self.walked)


class LocalMarch:
    """Sorts the walk's candidates against the journal."""

    def __init__(self, journal: Journal, root_ids: list[int], accounting: Accounting,
                 index: AccountIndex | None, *, whole: bool) -> None:
        self.journal = journal
        self.acct = accounting
        self.index = index
        self.whole = whole
        self._root_ids = root_ids
        # Rows marked seen by the fast path, written together (see _flush_seen).
        self._seen: list[int] = []
        self._rows = WalkRows(lambda: journal.conn, _ROW, before_read=self._flush_seen)

    def after_batch(self) -> None:
        self._flush_seen()
        self.journal.commit_if_due()

    def _flush_seen(self) -> None:
        if self._seen:
            self.journal.mark_seen(self._seen)
            self._seen = []

    def sweep_gone(self) -> None:
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
