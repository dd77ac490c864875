"""``s3://`` buckets and ``--urls`` lists as a source of ``push``.

The listing is :mod:`bulkpin.push.remote_listing`; the movers' side, how an
object is read and sent, :mod:`bulkpin.push.remote`. The march's hooks are
here. A bucket object is described by its listing (size, ETag), so it is
sorted with no request to the source: recorded (a changed object starts
over), taken once per run, passed over when the journal knows it unchanged
and uploaded or pinned (unless the account index says the account no longer
holds it), else handed to the movers, marked for a ``pinJobs`` check when an
earlier run may have sent it. A URL is described only by its first GET, so
every URL goes to a mover, which decides there. Directory markers are
recorded as ``skipped`` and bad URL lines as ``failed``. When every listing
ran to its end, unfinished objects it no longer met are recorded as ``gone``.

Imported only by a push of remote sources: it loads the S3 client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ..client import DecooClient, DecooError, Fate, classify_item
from ..core.accounting import Accounting
from ..core.crashpoints import crash_point
from ..core.errors import ExitStatus, RunAborted
from ..core.events import FileEvent, FileOutcome, PushEvent
from ..core.march import Step, file_state, march
from ..journal import FileRecord, Journal, discover_remote, record_not_taken, touch_remote
from ..movers.pin_file import PinFileMover
from ..push.account_index import AccountIndex
from ..push.options import PushOptions
from ..push.remote import RemoteObjects
from ..push.remote_listing import Listed, RemoteSpec, list_remote
from ..push.remote_read import RemoteItem, RemoteSources, identity_of, url_name
from ..push.run import push_source
from ..push.summary import PushSummary
from .http import BadLine, UrlEntry
from .remote import Skipped

__all__ = ["NO_ROOT_CID", "ObjectMarch", "ObjectSource", "push_remote"]

#: Manifest root rows of remote sources say why they have no root CID.
NO_ROOT_CID = "no directory CID is computed for a remote source"


async def push_remote(
    spec: RemoteSpec,
    options: PushOptions,
    sources: RemoteSources,
    *,
    client: DecooClient | None = None,
    on_event: Callable[[PushEvent], None] | None = None,
    stop: anyio.Event | None = None,
) -> PushSummary:
    """Pin every object ``spec`` names, streamed from ``sources`` through ``client``.

    ``sources`` and ``client`` must be open; ``client`` may be None only for a
    dry run. Events, ``stop`` and the summary are those of
    :func:`~bulkpin.push.push`; the manifest names each object by its URL.
    """
    return await push_source(ObjectSource(spec, options, sources), options, client=client,
                             on_event=on_event, stop=stop)


class ObjectSource:
    """The objects of ``s3://`` locations and the URLs of a ``--urls`` list."""

    noun = "object(s)"
    # A dry run records the CIDs it hashed, so the next one need not read them again.
    dry_run_copy = False
    shares_claims = False
    # Every job is taken as ours (see push.remote): nothing is sent again in a run.
    revives = False

    def __init__(self, spec: RemoteSpec, options: PushOptions, sources: RemoteSources) -> None:
        self.spec = spec
        self.options = options
        self.sources = sources
        self._roots = spec.root_keys()

    @property
    def roots(self) -> list[bytes]:
        return self._roots

    def begin(self, journal: Journal) -> list[int]:
        root_ids = [journal.root_id(key) for key in self._roots]
        for root in root_ids:
            journal.set_root_cid(root, None, NO_ROOT_CID)
        return root_ids

    async def listing(self, send: MemoryObjectSendStream[Sequence[Listed]],
                      root_ids: list[int], stop: anyio.Event) -> None:
        """The listings; one that fails for good ends the run."""
        try:
            await list_remote(self.spec, root_ids, self.options.selection, self.sources.s3,
                              send)
        except DecooError as exc:
            # No such bucket, refused credentials...: no object can be read.
            verdict = classify_item(exc)
            status = ExitStatus.USAGE if verdict.fate is Fate.STOP_RUN else \
                ExitStatus.INTERRUPTED
            raise RunAborted(f"the listing failed: {verdict.reason}", status) from exc

    def marcher(self, journal: Journal, root_ids: list[int], acct: Accounting,
                index: AccountIndex | None) -> ObjectMarch:
        # A --files-from list names some keys only: it cannot tell one is gone.
        return ObjectMarch(self.options, journal, root_ids, acct, index,
                           whole=self.spec.keys is None)

    def mover(self, mover: PinFileMover) -> RemoteObjects:
        return RemoteObjects(mover, self.sources)

    def revived(self, record: FileRecord) -> RemoteItem:
        raise AssertionError("a remote push revives nothing (revives is False)")

    async def finish(self, journal: Journal) -> list[tuple[str, str | None]]:
        """No root CID for a remote source (:data:`NO_ROOT_CID`)."""
        return []


class ObjectMarch:
    """Sorts listed objects against the journal."""

    def __init__(self, options: PushOptions, journal: Journal, root_ids: list[int],
                 accounting: Accounting, index: AccountIndex | None, *, whole: bool) -> None:
        self.options = options
        self.journal = journal
        self.acct = accounting
        self.index = index
        self.whole = whole
        self._root_ids = root_ids

    def after_batch(self) -> None:
        self.journal.commit_if_due()

    def sweep_gone(self) -> None:
        why = "no longer in the source's listing before it was pinned"
        for record in self.journal.not_seen_since(self._root_ids):
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
