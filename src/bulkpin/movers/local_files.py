"""Local files through the ``pinFile`` mover: one file from the journal to the service, once.

For each file a worker decides how to read it:

- small files (``PushOptions.whole_file_max``) are read whole and hashed first, so
  a copy is skipped before anything is sent, and uploaded from memory;
- larger files stream: the CID is computed while the body is sent, every byte
  read once; only a file that may be a copy is hashed first: one whose size and
  first bytes match another known file's, or whose size matches a pin the
  account holds;
- a file left ``uploading`` by an interrupted run is hashed and looked up with
  ``pinJobs?pin-hash=`` before anything is sent again.

What is the same for every kind of item (dedup, claims, pacing, the item tier,
the ``uploading`` mark) is :class:`~.pin_file.PinFileMover`'s; here is what a
local file adds: reading it checked against its identity, finding it again
after it changed, and telling a file deleted under us (``gone``) from a failure.
"""

from __future__ import annotations

import os
import stat

import anyio

from ..client import FileChangedError, FileContent, LocalFileError, PinResult
from ..client.multipart import DEFAULT_CHUNK_SIZE
from ..core.crashpoints import crash_point
from ..core.errors import reason_of
from ..core.march import Work
from ..fs import ChangedWhileRead, FileIdentity
from ..journal import FileRecord
from ..push.dedup import ShapeKey
from ..push.hashing import hash_checked, prefix_digest, read_checked, stream_check
from .attempts import take
from .pin_file import PinFileMover

__all__ = ["UPLOAD_BUFFER", "LocalFiles", "WorkItem"]

#: Bytes one upload holds in the client's read-ahead (three 1 MiB chunks).
UPLOAD_BUFFER = 3 * DEFAULT_CHUNK_SIZE

#: A file handed to a worker; ``verify`` when a past run may have sent it.
WorkItem = Work[FileRecord]


class LocalFiles:
    """Takes one local file at a time to an outcome; several workers share it."""

    def __init__(self, mover: PinFileMover) -> None:
        self.mover = mover
        self.options = mover.options
        self.journal = mover.journal
        self.acct = mover.acct

    def _fail(self, record: FileRecord, message: str) -> None:
        if not os.path.lexists(record.path):
            # Deleted under us: not a failure of the tree, and said once.
            message = "deleted before it was pinned"
            self.journal.mark_gone(record.id, message)
            self.mover.finish(record, "gone", record.cid, message)
            return
        self.journal.mark_failed(record.id, message)
        self.mover.finish(record, "failed", record.cid, message)

    def name(self, item: WorkItem) -> str:
        """The file's name while in flight: its pace is followed by that name."""
        return os.fsdecode(item.record.display)

    # -- the stage --

    async def handle(self, item: WorkItem) -> None:
        """Take one file to an outcome (or raise :class:`RunAborted`), by the one item loop."""
        await take(item, self, self.mover)

    # -- what the item loop (:mod:`.attempts`) asks of a local file --

    changed_errors = (ChangedWhileRead, FileChangedError)
    unreadable_errors = (OSError, LocalFileError)

    def record(self, item: WorkItem) -> FileRecord:
        return item.record

    async def once(self, item: WorkItem) -> None:
        await self._once(item.record, item.verify)

    async def refound(self, item: WorkItem, exc: BaseException, *, last: bool) -> bool:
        # Looked up even the last time: the failed row then has the file's identity now.
        fresh = self._rediscover(item.record)
        if fresh is None or last:
            return False
        item.record = fresh
        # An abandoned request may have reached the service.
        item.verify = item.verify or isinstance(exc, FileChangedError)
        return True

    def unreadable(self, item: WorkItem, exc: BaseException) -> None:
        self._fail(item.record, reason_of(exc))

    def fail(self, item: WorkItem, message: str) -> None:
        self._fail(item.record, message)

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
            if not self.mover.already_there(record, cid, ours_maybe=verify):
                self.journal.mark_uploaded(record.id, cid)  # a later copy shares it
                self.mover.finish(record, "hashed", cid)
            return
        # What an upload holds, bounded across all workers by --memory: a small
        # file's bytes, or the client's read-ahead of a few chunks.
        in_memory = record.size <= opts.whole_file_max
        reserved = await self.mover.memory.acquire(
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
                    limiter=self.mover.hash_limiter, abandon_on_cancel=True,
                )
            elif cid is None:
                shape = await self._shape(record, identity)
                if verify or self._maybe_copy(record, shape) or self.mover.others_running():
                    # Hashed first only if it may be a copy or may have been sent
                    # (or another run may be sending it: a claim needs the CID).
                    cid = await self._hash(record, identity)
            await self.mover.send(
                record, cid, shape, verify=verify, ours_maybe=verify,
                upload=lambda: self._upload(record, cid, identity, content))
        finally:
            self.mover.memory.release(reserved)

    async def _shape(self, record: FileRecord, identity: FileIdentity) -> ShapeKey:
        """A large file's size and first bytes' digest, recorded for later twins."""
        prefix = await anyio.to_thread.run_sync(
            prefix_digest, record.path, identity, self.options.follow_symlinks,
            limiter=self.mover.hash_limiter, abandon_on_cancel=True,
        )
        self.journal.set_prefix(record.id, prefix)
        return (record.size, prefix)

    def _maybe_copy(self, record: FileRecord, shape: ShapeKey) -> bool:
        size, prefix = shape
        assert prefix is not None
        return self.mover.may_be_held(size) or self.journal.twin_seen(size, prefix, record.id)

    async def _hash(self, record: FileRecord, identity: FileIdentity) -> str:
        crash_point("hashing")
        opts = self.options
        return await anyio.to_thread.run_sync(
            hash_checked, record.path, identity, opts.profile, opts.follow_symlinks,
            limiter=self.mover.hash_limiter, abandon_on_cancel=True,
        )

    async def _upload(
        self, record: FileRecord, cid: str | None, identity: FileIdentity,
        content: FileContent | None,
    ) -> None:
        opts = self.options
        client = await self.mover.begin_upload(record, cid)
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

        result: PinResult = await client.pin_file(
            os.fsdecode(record.path),
            cid=cid,
            # The path below the PATH argument, so `bulkpin ls` maps back to files.
            name=os.fsdecode(record.display.partition(b"/")[2] or record.display),
            profile=opts.profile,
            on_progress=progress,
            verify=verify,
            content=content,
            throttle=self.mover.throttle,
        )
        crash_point("after_answer")
        self.mover.uploaded(record, result)
