"""The upload stage: one file from the journal to the service, exactly once.

For each file a worker decides how to read it:

- small files (``PushOptions.small_file``) are read whole and hashed first, so
  a copy is skipped before anything is sent, and uploaded from memory;
- larger files stream: the CID is computed while the body is sent, every byte
  read once; only a file whose size matches another known file is hashed
  first, because only then can it be a duplicate;
- a file left ``uploading`` by an interrupted run is hashed and looked up with
  ``pinJobs?pin-hash=`` before anything is sent again.

Content whose CID the journal already knows as uploaded or pinned is not sent
again (``deduplicated``). The ``uploading`` mark is committed before the first
byte goes out. Errors are sorted here into three tiers, per DESIGN.md: the
client retries a request (tenacity); this stage retries a file after a
transient failure, until the service has been unreachable for longer than the
run's patience; the next run resumes whatever is left.
"""

from __future__ import annotations

import logging
import math
import os
import random
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from ..client import (
    AuthenticationError,
    DecooClient,
    DecooError,
    FileChangedError,
    FileContent,
    Forbidden,
    HTTPStatusError,
    LocalFileError,
    PinResult,
    TLSError,
)
from ..client.multipart import DEFAULT_CHUNK_SIZE, ReadReport
from .accounting import Accounting
from .crashpoints import crash_point
from .events import FileEvent, FileOutcome, PushEvent
from .hashing import ChangedWhileRead, Identity, hash_checked, read_checked
from .journal import FileRecord, Journal
from .limits import ByteSemaphore, TokenBucket
from .options import PushOptions

log = logging.getLogger(__name__)

#: Bytes one upload holds in the client's read-ahead (three 1 MiB chunks).
UPLOAD_BUFFER = 3 * DEFAULT_CHUNK_SIZE

#: Times a file that keeps changing under us is re-read before it is failed.
MAX_CHANGED_RETRIES = 2


class RunAborted(Exception):
    """The run cannot go on; ``exit_status`` says how the CLI should end."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class Outage:
    """Tracks how long the service has been failing, against the run's patience."""

    def __init__(self, patience: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.patience = patience
        self._clock = clock
        self._failing_since: float | None = None

    def success(self) -> None:
        """Any answer from the service ends an outage."""
        self._failing_since = None

    def failure(self) -> None:
        """A request failed for a reason that may pass (connection, 5xx, 429...)."""
        if self._failing_since is None:
            self._failing_since = self._clock()

    @property
    def failing(self) -> bool:
        """Whether the last answer, if any, was a failure."""
        return self._failing_since is not None

    @property
    def expired(self) -> bool:
        """Whether the service has failed for longer than the patience."""
        return (
            self._failing_since is not None
            and self._clock() - self._failing_since > self.patience
        )


@dataclass(slots=True)
class WorkItem:
    """A file handed to a worker; ``verify`` when a past run may have sent it."""

    record: FileRecord
    verify: bool = False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DecooError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _is_permanent(exc: DecooError) -> bool:
    """400/403/413/422: the request itself is wrong; sending it again cannot help."""
    return isinstance(exc, HTTPStatusError) and exc.status in (400, 403, 404, 413, 422)


class Uploader:
    """Runs one file at a time through hashing, dedup and upload; several run at once."""

    def __init__(
        self,
        options: PushOptions,
        journal: Journal,
        client: DecooClient | None,
        accounting: Accounting,
        emit: Callable[[PushEvent], None],
        *,
        hash_limiter: anyio.CapacityLimiter,
        outage: Outage,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options
        self.journal = journal
        self.client = client
        self.acct = accounting
        self.emit = emit
        self.hash_limiter = hash_limiter
        self.outage = outage
        self.memory = ByteSemaphore(options.memory)
        self.rate = TokenBucket(options.rate_limit) if options.rate_limit else None
        self.bandwidth = (
            TokenBucket(options.bwlimit, burst=max(options.bwlimit / 4, 64 * 1024))
            if options.bwlimit
            else None
        )
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        # During an outage, files are retried one at a time (rclone's pacer).
        self._pace = anyio.Lock()
        # Content being uploaded now: by CID, and by size for files whose CID is
        # computed while they stream. A file with the same CID, or the same size
        # (only then can it be a copy), waits for it, then finds it in the journal.
        self._inflight: dict[str, anyio.Event] = {}
        self._streaming: dict[int, anyio.Event] = {}

    # -- outcomes --

    def _finish(self, record: FileRecord, outcome: FileOutcome, cid: str | None,
                error: str | None = None) -> None:
        counter = {
            "uploaded": "uploaded", "recovered": "uploaded", "deduplicated": "deduplicated",
            "failed": "failed", "pinned": "pinned",
        }.get(outcome)
        if counter is not None:
            setattr(self.acct, counter, getattr(self.acct, counter) + 1)
        self.acct.done(record.size)
        self.emit(FileEvent(os.fsdecode(record.display), outcome, record.size, cid, error))

    def _fail(self, record: FileRecord, message: str) -> None:
        self.journal.mark_failed(record.id, message)
        self._finish(record, "failed", record.cid, message)

    # -- the stage --

    async def handle(self, item: WorkItem) -> None:
        """Take one file to an outcome (or raise :class:`RunAborted`)."""
        record = item.record
        changed = attempt = 0
        self.acct.in_flight += 1
        try:
            while True:
                try:
                    await self._once(record, item.verify)
                except (ChangedWhileRead, FileChangedError) as exc:
                    changed += 1
                    fresh = self._rediscover(record)
                    if fresh is None or changed > MAX_CHANGED_RETRIES:
                        self._fail(record, f"{_reason(exc)}; not pinned")
                        return
                    record = fresh
                    # An abandoned request may have reached the service.
                    item.verify = item.verify or isinstance(exc, FileChangedError)
                except (OSError, LocalFileError) as exc:
                    self._fail(record, _reason(exc))
                    return
                except DecooError as exc:
                    if not await self._transient(record, exc, attempt):
                        return
                    attempt += 1
                    item.verify = True  # the file may have been sent: ask pinJobs first
                else:
                    return
        finally:
            self.acct.in_flight -= 1

    async def _transient(self, record: FileRecord, exc: DecooError, attempt: int) -> bool:
        """Sort a service error: True to try the file again (after a pause)."""
        if isinstance(exc, AuthenticationError):
            raise RunAborted(f"the service refused the credentials: {exc}", 2) from exc
        if isinstance(exc, TLSError):
            # A certificate that does not verify will not verify on a retry either.
            raise RunAborted(f"the service's certificate was refused: {exc}", 2) from exc
        if isinstance(exc, Forbidden):
            # The signature is the key's doing, not the file's: every upload would
            # be refused alike, so stop rather than send the whole tree for nothing.
            self._fail(record, str(exc))
            raise RunAborted(
                "the service refused the upload's signature: the private key does not"
                f" belong to this API key's account ({exc})", 2,
            ) from exc
        if _is_permanent(exc):
            self.outage.success()  # the service answered
            self._fail(record, str(exc))
            return False
        self.outage.failure()
        self.acct.retries += 1
        if self.outage.expired:
            raise RunAborted(
                f"the service has been unreachable for over {self.options.patience:g} s"
                f" (last error: {exc})", 3,
            ) from exc
        delay = backoff(attempt, 0.5, 30.0, self._rng)
        log.info("%s: will try again in %.1f s: %s", os.fsdecode(record.display), delay, exc)
        # While the service keeps failing, the waiting files take turns, each after
        # its pause: a dead service sees a trickle however many workers there are,
        # not one retry per worker. Once anything succeeds, the others go at once.
        async with self._pace:
            if self.outage.failing:
                await anyio.sleep(delay)
        return True

    def _rediscover(self, record: FileRecord) -> FileRecord | None:
        try:
            st = os.stat(record.path) if self.options.follow_symlinks else os.lstat(record.path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):  # replaced by a directory, FIFO...
            return None
        return self.journal.discover(record.path, record.display, record.root, st.st_size,
                                     st.st_mtime_ns, st.st_ino)

    async def _once(self, record: FileRecord, verify: bool) -> None:
        opts = self.options
        identity = Identity(record.size, record.mtime_ns, record.inode)
        cid = record.cid
        if opts.dry_run:
            if cid is None:
                cid = await self._hash(record, identity)
            self.journal.set_cid(record.id, cid)
            self._finish(record, "hashed", cid)
            return
        # What an upload holds, bounded across all workers by --memory: a small
        # file's bytes, or the client's read-ahead of a few chunks.
        in_memory = record.size <= opts.small_file
        reserved = await self.memory.acquire(
            record.size if in_memory else min(record.size, UPLOAD_BUFFER)
        )
        try:
            content = None
            if in_memory:
                # Read whole and hashed first, so a copy is known before anything
                # is sent, then sent from memory: the file is read once in all.
                cid, content = await anyio.to_thread.run_sync(
                    read_checked, record.path, identity, opts.profile, opts.follow_symlinks,
                    limiter=self.hash_limiter,
                )
            elif cid is None and (verify or self.journal.size_seen(record.size, record.id)):
                # Hashed first only if it may be a duplicate or may have been sent.
                cid = await self._hash(record, identity)
            await self._send_once(record, cid, identity, verify, content)
        finally:
            self.memory.release(reserved)

    async def _hash(self, record: FileRecord, identity: Identity) -> str:
        opts = self.options
        return await anyio.to_thread.run_sync(
            hash_checked, record.path, identity, opts.profile, opts.follow_symlinks,
            limiter=self.hash_limiter,
        )

    async def _send_once(
        self, record: FileRecord, cid: str | None, identity: Identity, verify: bool,
        content: FileContent | None,
    ) -> None:
        """Upload unless the same content is known or on its way; never twice at once."""
        # Wait out any upload of the same content (same CID, or a streaming upload
        # of the same size whose CID is not known yet), then decide. Nothing awaits
        # between the last check and claiming the content, so the claim is exclusive.
        while True:
            event = (self._inflight.get(cid) if cid is not None else None) or \
                self._streaming.get(record.size)
            if event is None:
                break
            await event.wait()
        if cid is not None and self._deduplicate(record, cid):
            return
        done = anyio.Event()
        if cid is not None:
            self._inflight[cid] = done
        else:
            self._streaming[record.size] = done
        try:
            if verify and cid is not None and await self._recover(record, cid):
                return
            await self._upload(record, cid, identity, content)
        finally:
            if cid is not None:
                del self._inflight[cid]
            else:
                del self._streaming[record.size]
            done.set()

    def _deduplicate(self, record: FileRecord, cid: str) -> bool:
        known = self.journal.known_cid(cid)
        if known is None or known.id == record.id:
            return False
        self.journal.mark_duplicate(record.id, known)
        self._finish(record, "deduplicated", cid)
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
        self, record: FileRecord, cid: str | None, identity: Identity,
        content: FileContent | None,
    ) -> None:
        assert self.client is not None
        opts = self.options
        if self.rate is not None:
            await self.rate.take()
        if self.bandwidth is not None:
            # Paced per file: the bucket goes into debt by the file's size and the
            # next upload waits it off, so the average rate holds.
            await self.bandwidth.take(record.size)
        self.journal.mark_uploading(record.id, cid)
        await self.journal.sync()

        def verify(report: ReadReport) -> None:
            if (report.size, report.mtime_ns, report.inode) != (
                identity.size, identity.mtime_ns, identity.inode
            ):
                raise FileChangedError(
                    f"{os.fsdecode(record.display)} changed while being read", operation="pinFile"
                )

        sent = 0

        def progress(delta: int) -> None:
            nonlocal sent
            sent += delta
            self.acct.sent(delta)
            if delta > 0 and sent == record.size:
                crash_point("after_send")

        result: PinResult = await self.client.pin_file(
            os.fsdecode(record.path),
            cid=cid,
            name=os.fsdecode(os.path.basename(record.display)),
            profile=opts.profile,
            on_progress=progress,
            verify=verify,
            content=content,
        )
        crash_point("after_answer")
        self.outage.success()
        if result.pin_hash is not None and result.pin_hash != result.cid:
            # Decoo would have pinned other content under this name: never accept it.
            self._fail(record, f"the service answered PinHash {result.pin_hash}, but the file's"
                               f" CID is {result.cid}")
            return
        date = result.date.isoformat() if result.date is not None else None
        self.journal.mark_uploaded(record.id, result.cid, result.job_id, date)
        if result.job_status is not None and result.job_status.value == "pinned":
            self.journal.set_job_status(result.cid, "pinned", result.job_id, None)
        self._finish(record, "recovered" if result.recovered else "uploaded", result.cid)


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff (AWS's recipe)."""
    return rng.uniform(0, min(cap, base * math.pow(2, attempt)))
