"""The upload stage: one file from the journal to the service, exactly once.

For each file a worker decides how to read it:

- small files (``PushOptions.whole_file_max``) are read whole and hashed first, so
  a copy is skipped before anything is sent, and uploaded from memory;
- larger files stream: the CID is computed while the body is sent, every byte
  read once; only a file that may be a copy is hashed first: one whose size and
  first bytes match another known file's, or whose size matches a pin the
  account holds;
- a file left ``uploading`` by an interrupted run is hashed and looked up with
  ``pinJobs?pin-hash=`` before anything is sent again.

Content already there is not sent again (:mod:`.dedup`): ``deduplicated`` when
the journal has it, ``held`` when the account does. A file deleted under us is
``gone``, not failed. The ``uploading`` mark is committed before the first
byte goes out. Errors follow the three tiers of DESIGN.md: the client retries a
request (tenacity); :func:`bulkpin.client.classify_item` decides whether the
file is tried again after a pause (until the service has been unreachable for
longer than the run's patience), failed, or the run stopped; the next run
resumes whatever is left.
"""

from __future__ import annotations

import logging
import os
import random
import stat
from dataclasses import dataclass

import anyio

from ..client import (
    DecooClient,
    DecooError,
    FileChangedError,
    FileContent,
    LocalFileError,
    PinResult,
)
from ..client.multipart import DEFAULT_CHUNK_SIZE
from ..fs import ChangedWhileRead, FileIdentity
from .account_index import AccountIndex
from .accounting import Accounting
from .crashpoints import crash_point
from .dedup import Claims, ShapeKey, known_content
from .errors import reason_of
from .events import FileEvent, FileOutcome
from .hashing import hash_checked, prefix_digest, read_checked, stream_check
from .item_retry import ItemRetry
from .journal import FileRecord, Journal
from .options import PushOptions
from .pacing import ByteSemaphore, Outage, TokenBucket, wire_bucket
from .shared_claims import SharedClaims

__all__ = ["UPLOAD_BUFFER", "Uploader", "WorkItem"]

log = logging.getLogger(__name__)

#: Bytes one upload holds in the client's read-ahead (three 1 MiB chunks).
UPLOAD_BUFFER = 3 * DEFAULT_CHUNK_SIZE

#: Times a file that keeps changing under us is re-read before it is failed.
MAX_CHANGED_RETRIES = 2


@dataclass(slots=True)
class WorkItem:
    """A file handed to a worker; ``verify`` when a past run may have sent it."""

    record: FileRecord
    verify: bool = False


class Uploader:
    """Runs one file at a time through hashing, dedup and upload; several run at once."""

    def __init__(
        self,
        options: PushOptions,
        journal: Journal,
        client: DecooClient | None,
        accounting: Accounting,
        *,
        hash_limiter: anyio.CapacityLimiter,
        outage: Outage,
        index: AccountIndex | None = None,
        rng: random.Random | None = None,
        stop: anyio.Event | None = None,
    ) -> None:
        self.index = index
        self.options = options
        self.journal = journal
        self.client = client
        self.acct = accounting
        self.hash_limiter = hash_limiter
        self.outage = outage
        self.memory = ByteSemaphore(options.memory)
        self.rate = TokenBucket(options.rate_limit) if options.rate_limit else None
        # One bucket for all uploads, paid as bytes go to the socket (--bwlimit).
        self.bandwidth = wire_bucket(options.bwlimit) if options.bwlimit else None
        #: The item tier: files tried again after a pause, taking turns in an outage.
        self.retry = ItemRetry(outage, stop=stop, rng=rng, on_retry=accounting.retry)
        self._claims = Claims()
        #: Claims shared with the other runs to this destination (:mod:`.shared_claims`).
        self.shared: SharedClaims | None = None

    # -- outcomes --

    def _finish(self, record: FileRecord, outcome: FileOutcome, cid: str | None,
                error: str | None = None) -> None:
        self.acct.file_done(
            FileEvent(os.fsdecode(record.display), outcome, record.size, cid, error)
        )

    def _fail(self, record: FileRecord, message: str) -> None:
        if not os.path.lexists(record.path):
            # Deleted under us: not a failure of the tree, and said once.
            message = "deleted before it was pinned"
            self.journal.mark_gone(record.id, message)
            self._finish(record, "gone", record.cid, message)
            return
        self.journal.mark_failed(record.id, message)
        self._finish(record, "failed", record.cid, message)

    # -- the stage --

    async def handle(self, item: WorkItem) -> None:
        """Take one file to an outcome (or raise :class:`RunAborted`)."""
        record = item.record
        changed = attempt = 0
        name = os.fsdecode(record.display)
        self.acct.begin(name, record.size)
        try:
            while True:
                try:
                    await self._once(record, item.verify)
                except (ChangedWhileRead, FileChangedError) as exc:
                    changed += 1
                    fresh = self._rediscover(record)
                    if fresh is None or changed > MAX_CHANGED_RETRIES:
                        self._fail(record, f"{reason_of(exc)}; not pinned")
                        return
                    record = fresh
                    # An abandoned request may have reached the service.
                    item.verify = item.verify or isinstance(exc, FileChangedError)
                except (OSError, LocalFileError) as exc:
                    self._fail(record, reason_of(exc))
                    return
                except DecooError as exc:
                    if not await self._after_error(record, exc, attempt):
                        return
                    attempt += 1
                    item.verify = True  # the file may have been sent: ask pinJobs first
                else:
                    return
        finally:
            self.acct.end(name)

    async def _after_error(self, record: FileRecord, exc: DecooError, attempt: int) -> bool:
        """The item tier's verdict (:class:`~.item_retry.ItemRetry`): True to try again."""
        return await self.retry.after_error(exc, attempt, what=os.fsdecode(record.display),
                                            fail=lambda reason: self._fail(record, reason))

    def _rediscover(self, record: FileRecord) -> FileRecord | None:
        try:
            st = os.stat(record.path) if self.options.follow_symlinks else os.lstat(record.path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):  # replaced by a directory, FIFO...
            return None
        return self.journal.discover(record.path, record.display, record.root,
                                     FileIdentity.of(st))

    async def _once(self, record: FileRecord, verify: bool) -> None:
        opts = self.options
        identity = record.identity
        cid = record.cid
        if opts.dry_run:
            # What a real run would do, decided as it would, in the journal's copy:
            # held or a copy of another file sends nothing; the rest would be sent.
            if cid is None:
                cid = await self._hash(record, identity)
            if not self._already_there(record, cid, ours_maybe=verify):
                self.journal.mark_uploaded(record.id, cid)  # a later copy shares it
                self._finish(record, "hashed", cid)
            return
        # What an upload holds, bounded across all workers by --memory: a small
        # file's bytes, or the client's read-ahead of a few chunks.
        in_memory = record.size <= opts.whole_file_max
        reserved = await self.memory.acquire(
            record.size if in_memory else min(record.size, UPLOAD_BUFFER)
        )
        try:
            content = None
            shape: ShapeKey = (record.size, None)
            if in_memory:
                # Read whole and hashed first, so a copy is known before anything
                # is sent, then sent from memory: the file is read once in all.
                crash_point("hashing")
                cid, content = await anyio.to_thread.run_sync(
                    read_checked, record.path, identity, opts.profile, opts.follow_symlinks,
                    limiter=self.hash_limiter, abandon_on_cancel=True,
                )
            elif cid is None:
                shape = await self._shape(record, identity)
                if verify or self._maybe_copy(record, shape) or \
                        (self.shared is not None and self.shared.others_running()):
                    # Hashed first only if it may be a copy or may have been sent
                    # (or another run may be sending it: a claim needs the CID).
                    cid = await self._hash(record, identity)
            await self._send_once(record, cid, shape, identity, verify, content)
        finally:
            self.memory.release(reserved)

    async def _shape(self, record: FileRecord, identity: FileIdentity) -> ShapeKey:
        """A large file's size and first bytes' digest, recorded for later twins."""
        prefix = await anyio.to_thread.run_sync(
            prefix_digest, record.path, identity, self.options.follow_symlinks,
            limiter=self.hash_limiter, abandon_on_cancel=True,
        )
        self.journal.set_prefix(record.id, prefix)
        return (record.size, prefix)

    def _maybe_copy(self, record: FileRecord, shape: ShapeKey) -> bool:
        size, prefix = shape
        assert prefix is not None
        if self.index is not None and self.index.has_size(size):
            return True
        return self.journal.twin_seen(size, prefix, record.id)

    async def _hash(self, record: FileRecord, identity: FileIdentity) -> str:
        crash_point("hashing")
        opts = self.options
        return await anyio.to_thread.run_sync(
            hash_checked, record.path, identity, opts.profile, opts.follow_symlinks,
            limiter=self.hash_limiter, abandon_on_cancel=True,
        )

    async def _send_once(
        self, record: FileRecord, cid: str | None, shape: ShapeKey, identity: FileIdentity,
        verify: bool, content: FileContent | None,
    ) -> None:
        """Upload unless the same content is there or on its way; never twice at once."""
        # Wait out any upload of the same content, then decide. Nothing awaits
        # between the last check and the claim, so the claim is exclusive.
        await self._claims.wait(cid, shape)
        if cid is not None and self._already_there(record, cid, ours_maybe=verify):
            return
        with self._claims.claim(cid, shape):
            if cid is not None and self.shared is not None and self._claimed_elsewhere(record, cid):
                return
            if verify and self.index is None and cid is not None \
                    and await self._recover(record, cid):
                return
            try:
                await self._upload(record, cid, identity, content)
            except BaseException:
                if cid is not None and self.shared is not None:
                    self.shared.release(cid)  # whoever waits on it sends it
                raise

    def _claimed_elsewhere(self, record: FileRecord, cid: str) -> bool:
        """Another live run is sending ``cid``: follow its job, as a hint, instead."""
        assert self.shared is not None
        other = self.shared.claim(cid)
        if other is None:
            return False
        self.journal.mark_held(record.id, cid, job_id=other.job_id, pinned=False, hint=True)
        self._finish(record, "held", cid)
        return True

    def _already_there(self, record: FileRecord, cid: str, *, ours_maybe: bool) -> bool:
        """Whether ``cid`` needs no upload for ``record`` (recorded as such if so).

        ``ours_maybe``: an earlier attempt may have sent the file, so a job the
        account has for it may be ours. Otherwise such a job is someone
        else's: a hint that the content is coming, followed as such
        (:meth:`~.journal.Journal.mark_held`'s ``hint``).
        """
        known = known_content(self.journal, self.index, record, cid)
        if known is None:
            return False
        if known.row is not None:
            self.journal.mark_duplicate(record.id, known.row)
            self._finish(record, "deduplicated", cid)
        else:
            assert known.held is not None
            held = known.held
            self.journal.mark_held(record.id, cid, job_id=held.job_id, pinned=held.pinned,
                                   pin_date=held.date, hint=not ours_maybe)
            self._finish(record, "held", cid)
        return True

    async def _recover(self, record: FileRecord, cid: str) -> bool:
        assert self.client is not None
        job = await self.client.find_active_job(cid)
        if job is None:
            # The Cloud answering is no sign the upload will go through now: only
            # progress ends an outage, or an Endpoint that always refuses would
            # restart the patience on every try and the run would never stop.
            return False
        self.outage.success()
        self.journal.mark_uploaded(record.id, cid, job.id)
        self._finish(record, "recovered", cid)
        return True

    async def _upload(
        self, record: FileRecord, cid: str | None, identity: FileIdentity,
        content: FileContent | None,
    ) -> None:
        assert self.client is not None
        opts = self.options
        if self.rate is not None:
            await self.rate.take()
        self.journal.mark_uploading(record.id, cid)
        await self.journal.sync()

        verify = stream_check(record.path, record.display, identity, opts.follow_symlinks)

        sent = 0
        name = os.fsdecode(record.display)

        def progress(delta: int) -> None:
            nonlocal sent
            if sent == 0 and delta > 0:
                crash_point("sending")
            sent += delta
            self.acct.sent(delta, name)
            if delta > 0 and sent == record.size:
                crash_point("after_send")

        result: PinResult = await self.client.pin_file(
            os.fsdecode(record.path),
            cid=cid,
            # The path below the PATH argument, so `bulkpin ls` maps back to files.
            name=os.fsdecode(record.display.partition(b"/")[2] or record.display),
            profile=opts.profile,
            on_progress=progress,
            verify=verify,
            content=content,
            throttle=self.bandwidth.take if self.bandwidth is not None else None,
        )
        crash_point("after_answer")
        self.outage.success()
        date = result.date.isoformat() if result.date is not None else None
        self.journal.mark_uploaded(record.id, result.cid, result.job_id, date)
        if self.index is not None:
            self.index.record_job(result.cid, result.job_id, "queued")
        if self.shared is not None and result.job_id is not None:
            self.shared.sent(result.cid, result.job_id)
        if result.job_status is not None and result.job_status.value == "pinned":
            self.journal.set_job_status(result.cid, "pinned", result.job_id, None)
        self._finish(record, "recovered" if result.recovered else "uploaded", result.cid)
