"""The upload stage for remote objects: one ``s3://`` object or URL to the service, once.

The counterpart of :mod:`bulkpin.movers.local_files` for bytes that live elsewhere. It holds the
run's :class:`~bulkpin.movers.pin_file.PinFileMover` (dedup claims, the account
index, the item-tier retry, pacing, ``--memory``), as local files do, and
decides, per object, how to read it:

- a URL is opened first: its answer describes it (size, ETag,
  ``Last-Modified``), and an unchanged URL already pinned goes no further;
  otherwise that same open reader feeds the upload (no second GET);
- small objects (``PushOptions.whole_file_max``, size known) are read whole and
  hashed, deduplicated against the journal and the account, then sent from
  memory, exactly as small files are;
- larger objects stream from the source into ``pinFile``, the CID computed on
  the way; one is hashed first (read without sending) only if it may be a copy
  (same size and ETag as another object, or a size the account holds) or a
  crashed run may have sent it.

An object that changes while it is read (the source raises
:class:`~bulkpin.sources.remote_errors.ObjectChanged` before the end, so the
request never gets its ``cid`` part) is listed again and re-read, at most
:data:`~bulkpin.movers.pin_file.MAX_CHANGED_RETRIES` times, then failed; one deleted meanwhile
is ``gone``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..client import FileChangedError, FileContent, LocalFileError, PinResult
from ..client.multipart import ByteReader, buffer_bytes
from ..core.crashpoints import crash_point
from ..core.errors import reason_of
from ..core.events import FileOutcome
from ..journal import FileRecord, discover_remote, remote_twin, set_size
from ..movers.attempts import take
from ..movers.pin_file import PinFileMover
from ..sources.http import UrlEntry
from ..sources.remote import RemoteObject
from ..sources.remote_errors import ObjectNotFound
from ..sources.resume import ResumingReader
from ..sources.s3 import S3Object
from .dedup import ShapeKey
from .remote_read import (
    RemoteItem,
    RemoteSources,
    handoff_opener,
    hash_stream,
    identity_of,
    read_upto,
)

__all__ = ["RemoteObjects"]

log = logging.getLogger(__name__)

#: What one streamed upload may hold in memory, counted against ``--memory``.
STREAM_BUFFER = buffer_bytes()


class RemoteObjects:
    """Takes one remote object at a time to an outcome; several workers share it."""

    def __init__(self, mover: PinFileMover, sources: RemoteSources) -> None:
        self.mover = mover
        self.sources = sources
        self.options = mover.options
        self.journal = mover.journal
        self.acct = mover.acct

    def _finish(self, record: FileRecord, outcome: FileOutcome, cid: str | None,
                error: str | None = None) -> None:
        self.mover.finish(record, outcome, cid, error)

    def _fail(self, record: FileRecord, message: str) -> None:
        # No local path to look at: deletions are told by the source (ObjectNotFound).
        self.journal.mark_failed(record.id, message)
        self._finish(self.journal.get_id(record.id), "failed", record.cid, message)

    def _gone(self, record: FileRecord, message: str) -> None:
        self.journal.mark_gone(record.id, message)
        self._finish(self.journal.get_id(record.id), "gone", record.cid, message)

    def name(self, item: RemoteItem) -> None:
        """None: an object's pace is not followed (a stop's grace is given to every one)."""
        return

    async def handle(self, item: RemoteItem) -> None:
        """Take one object to an outcome (or raise :class:`~.errors.RunAborted`)."""
        await take(item, self, self.mover)

    # -- what the item loop (:mod:`bulkpin.movers.attempts`) asks of an object --

    changed_errors = (FileChangedError,)
    unreadable_errors = (LocalFileError,)

    def record(self, item: RemoteItem) -> FileRecord:
        return self.journal.get_id(item.record_id)

    async def once(self, item: RemoteItem) -> None:
        await self._remote_once(item)

    async def refound(self, item: RemoteItem, exc: BaseException, *, last: bool) -> bool:
        return not last and await self._relist(item)

    def unreadable(self, item: RemoteItem, exc: BaseException) -> None:
        record = self.record(item)
        # A URL list may name nothing: only a listed object can be told deleted.
        if isinstance(exc, ObjectNotFound) and not isinstance(item.listed, UrlEntry):
            self._gone(record, "deleted from the source before it was pinned")
        else:
            self._fail(record, reason_of(exc))

    def fail(self, item: RemoteItem, message: str) -> None:
        self._fail(self.record(item), message)

    async def _relist(self, item: RemoteItem) -> bool:
        """After a change: describe the object anew (a URL re-describes itself on open)."""
        if isinstance(item.listed, S3Object):
            now = await self.sources.relist(item.listed)
            if now is None:
                raise ObjectNotFound(f"{item.url}: no longer exists", url=item.url)
            item.listed = now
            discover_remote(self.journal, item.url, item.root, identity_of(now))
        item.described = None
        return True

    async def _remote_once(self, item: RemoteItem) -> None:
        if isinstance(item.listed, UrlEntry):
            async with self.sources.open(item.listed) as reader:
                record = self._describe(item, reader.object)
                if record is not None:
                    await self._take(item, record, reader.object.size, reader)
            return
        record = self.journal.get_id(item.record_id)
        await self._take(item, record, item.listed.size, None)

    def _describe(self, item: RemoteItem, obj: RemoteObject) -> FileRecord | None:
        """Record what a URL's answer says; None when it is unchanged and already there."""
        before = self.journal.get_id(item.record_id)
        record = discover_remote(self.journal, item.url, item.root, identity_of(obj))
        record = self.journal.get_id(record.id)
        item.described = obj
        if record.state in ("pinned", "uploaded") and not self.options.dry_run:
            self._finish(record, "unchanged", record.cid)
            return None
        if self.options.dry_run and record.cid is not None:
            self._finish(record, "hashed", record.cid)
            return None
        # A row that knew its content but cannot prove it unchanged (no validator)
        # is hashed first: the same bytes are then found held, not sent again.
        item.verify = item.verify or before.state in ("uploading", "failed") or (
            before.cid is not None and record.cid is None)
        if before.size != record.size:
            self.acct.found(record.size)  # the list could not say how big it was
        return record

    async def _take(self, item: RemoteItem, record: FileRecord, size: int | None,
                    first: ResumingReader | None) -> None:
        """Hash, deduplicate and send one described object."""
        opts = self.options
        if opts.dry_run:
            hashed = await self._hash_remote(item, first)
            self.journal.set_cid(record.id, hashed)
            self._finish(record, "hashed", hashed)
            return
        small = size is not None and size <= opts.whole_file_max
        # A streamed object holds its read-ahead (see client.multipart).
        reserved = await self.mover.memory.acquire(
            opts.whole_file_max if size is None or small else min(size, STREAM_BUFFER)
        )
        try:
            content: bytes | None = None
            cid: str | None = record.cid
            shape = self._remote_shape(item, record, size)
            if size is None or small:
                # Read first: a small object whole, one of unknown size hashed (and
                # kept if small), so a copy is known before anything is sent.
                async with _reader(self.sources, item, first) as reader:
                    cid, content, length = await read_upto(reader, opts.whole_file_max,
                                                           opts.profile, self.mover.hash_limiter)
                first = None
                if size is None:
                    # Now known: claim as a streamed object of this size would, so
                    # copies of it (streaming, or hashed later) find each other.
                    set_size(self.journal, record.id, length)
                    shape = self._remote_shape(item, record, length)
            elif cid is None and (item.verify or self._maybe_copy(record, shape)):
                cid = await self._hash_remote(item, first)
                first = None
            await self._send_remote(item, record, cid, shape, content, first)
        finally:
            self.mover.memory.release(reserved)

    def _remote_shape(self, item: RemoteItem, record: FileRecord, size: int | None) -> ShapeKey:
        """What a streamed object claims while its CID is unknown (and marks in the journal).

        Objects that may be copies claim the same key, so they go one at a time
        and the later ones find the first's CID: same size and, for S3, the
        same plain-MD5 ETag (or an ETag that proves nothing).
        """
        if size is None:
            return (-1, item.url)  # hashed before it is sent: its CID claims it
        prefix = "remote"
        md5 = _md5_etag(item)
        if md5 is not None:
            prefix = f"etag:{md5}"
        self.journal.set_prefix(record.id, prefix)
        return (size, prefix)

    def _maybe_copy(self, record: FileRecord, shape: ShapeKey) -> bool:
        size, prefix = shape
        if size < 0:
            return False
        if self.mover.may_be_held(size):
            return True
        md5 = prefix[len("etag:"):] if prefix and prefix.startswith("etag:") else None
        return remote_twin(self.journal, size, md5, record.id)

    async def _hash_remote(self, item: RemoteItem, first: ResumingReader | None) -> str:
        async with _reader(self.sources, item, first) as reader:
            cid, _ = await hash_stream(reader, self.options.profile, self.mover.hash_limiter)
        return cid

    async def _send_remote(self, item: RemoteItem, record: FileRecord, cid: str | None,
                           shape: ShapeKey, content: bytes | None,
                           first: ResumingReader | None) -> None:
        """Upload unless the same content is there or on its way; never twice at once."""
        # Every job taken as ours: the remote run has no stage that would send
        # an object again in the same run if someone else's job failed.
        await self.mover.send(
            record, cid, shape, verify=item.verify, ours_maybe=True,
            upload=lambda: self._upload_remote(item, record, cid, content, first))

    async def _upload_remote(self, item: RemoteItem, record: FileRecord, cid: str | None,
                             content: bytes | None, first: ResumingReader | None) -> None:
        opts = self.options
        size = len(content) if content is not None else record.size
        client = await self.mover.begin_upload(record, cid)
        sent = 0

        def progress(delta: int) -> None:
            nonlocal sent
            sent += delta
            self.acct.sent(delta)
            if delta > 0 and sent == size:
                crash_point("after_send")

        # --bwlimit paid piece by piece as the body goes to the socket, as for files.
        throttle = self.mover.throttle
        result: PinResult
        if content is not None:
            result = await client.pin_file(
                item.name, cid=cid, name=item.name, profile=opts.profile,
                on_progress=progress, content=FileContent(content, 0, 0), throttle=throttle,
            )
        else:
            known = item.listed.size if isinstance(item.listed, S3Object) else (
                item.described.size if item.described is not None else None)
            result = await client.pin_stream(
                handoff_opener(self.sources, item, first), size=known, filename=item.name,
                cid=cid, name=item.name, profile=opts.profile, on_progress=progress,
                throttle=throttle,
            )
        crash_point("after_answer")
        self._uploaded(record, result)

    def _uploaded(self, record: FileRecord, result: PinResult) -> None:
        if record.size != result.size and not result.recovered:
            # A URL sent chunked: its size is known only now.
            set_size(self.journal, record.id, result.size)
        self.mover.uploaded(self.journal.get_id(record.id), result)


def _md5_etag(item: RemoteItem) -> str | None:
    """An S3 single-part upload's ETag: the MD5 of its bytes, so equal bytes, equal ETag."""
    if not isinstance(item.listed, S3Object):
        return None  # HTTP ETags are opaque
    etag = item.listed.etag
    if etag is None or "-" in etag or etag.startswith("W/"):
        return None
    return etag


@asynccontextmanager
async def _reader(sources: RemoteSources, item: RemoteItem,
                  first: ResumingReader | None) -> AsyncIterator[ByteReader]:
    """``first`` if the object is open already (its owner closes it), else a fresh read."""
    if first is not None:
        yield first
        return
    async with handoff_opener(sources, item, None)() as reader:
        yield reader
