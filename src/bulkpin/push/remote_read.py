"""Reading remote objects for a push: which source opens what, whole reads, hash-only reads.

:class:`RemoteSources` opens a listed object (an :class:`~bulkpin.sources.s3.S3Object`
or a URL list's :class:`~bulkpin.sources.http.UrlEntry`) with the source that
knows it. :func:`read_upto` (small objects, and ones of unknown size: kept if
small, sent from memory afterwards) and
:func:`hash_stream` (an object that may be a copy, or may have been sent by a
crashed run) read an open reader to its proven end; hashing runs in worker
threads, so the event loop keeps the other uploads moving.
:func:`handoff_opener` gives an upload the reader that is already open for its
first attempt (no second GET) and opens the object afresh for later attempts,
refusing one that is no longer what the first read described.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import anyio

from ..client.multipart import ByteReader, ReaderOpener
from ..journal import RemoteIdentity
from ..sources.http import HttpObject, HttpSource, UrlEntry
from ..sources.remote import RemoteObject
from ..sources.remote_errors import ObjectChanged
from ..sources.resume import ResumingReader
from ..sources.s3 import S3Location, S3Object, S3Source
from ..unixfs import CidProfile, FileBuilder, hash_bytes

__all__ = [
    "READ_SIZE",
    "RemoteItem",
    "RemoteSources",
    "handoff_opener",
    "hash_stream",
    "identity_of",
    "read_upto",
]

#: Bytes asked of a reader per read when hashing without sending.
READ_SIZE = 1024 * 1024

Listed = S3Object | UrlEntry


@dataclass(slots=True)
class RemoteItem:
    """An object handed to an upload worker.

    ``url`` keys its journal row and names it in the manifest; ``name`` is the
    pin's name (the key below the prefix, or the URL list's name). ``verify``
    when a past run may have sent it.
    """

    url: str
    name: str
    root: int
    listed: Listed
    record_id: int
    verify: bool = False
    #: Set for a URL once its first GET described it.
    described: RemoteObject | None = field(default=None)


def identity_of(obj: RemoteObject) -> RemoteIdentity:
    """The journal identity of an object as a listing or an answer described it."""
    modified = obj.last_modified if isinstance(obj, HttpObject) else None
    return RemoteIdentity(obj.size, obj.etag, obj.version, modified)


def url_name(entry: UrlEntry) -> str:
    """A URL's pin name: the one the list gave, else the last segment of its path."""
    if entry.name:
        return entry.name
    tail = unquote(urlsplit(entry.url).path.rstrip("/").rsplit("/", 1)[-1])
    return tail or entry.url


class RemoteSources:
    """The open sources of a run: an S3 client, an HTTP session (either may be absent)."""

    def __init__(self, s3: S3Source | None = None, http: HttpSource | None = None) -> None:
        self.s3 = s3
        self.http = http

    def open(self, listed: Listed) -> AbstractAsyncContextManager[ResumingReader]:
        """A reader of the object, from its first byte."""
        if isinstance(listed, S3Object):
            assert self.s3 is not None
            return self.s3.open_object(listed)
        assert self.http is not None
        return self.http.open_url(listed)

    async def relist(self, obj: S3Object) -> S3Object | None:
        """The object under the same key now (None: deleted), after it changed under a read."""
        assert self.s3 is not None
        now = await self.s3._exact(S3Location(obj.bucket, obj.key))
        return None if now is None else S3Object(
            obj.bucket, obj.key, now.size, now.etag, now.last_modified, now.version, obj.rel
        )


async def read_upto(reader: ByteReader, limit: int, profile: CidProfile,
                    limiter: anyio.CapacityLimiter) -> tuple[str, bytes | None, int]:
    """An object's CID, its bytes if there are at most ``limit``, and its length.

    What was read is kept until the object proves larger, then only hashed: a
    small object is read once in all, a large one needs a second read to send.
    """
    builder = FileBuilder(profile)
    held: list[bytes] | None = []
    got = 0
    while chunk := await reader.read(READ_SIZE):
        got += len(chunk)
        if held is not None and got <= limit:
            held.append(chunk)
            continue
        if held is not None:
            for piece in held:
                await anyio.to_thread.run_sync(builder.update, piece, limiter=limiter)
            held = None
        await anyio.to_thread.run_sync(builder.update, chunk, limiter=limiter)
    if held is None:
        return builder.finish().cid, None, got
    data = b"".join(held)
    cid = await anyio.to_thread.run_sync(lambda: hash_bytes(data, profile).cid,
                                         limiter=limiter)
    return cid, data, got


async def hash_stream(reader: ByteReader, profile: CidProfile,
                      limiter: anyio.CapacityLimiter) -> tuple[str, int]:
    """The CID and length of everything the reader gives, read chunk by chunk."""
    builder = FileBuilder(profile)
    while chunk := await reader.read(READ_SIZE):
        await anyio.to_thread.run_sync(builder.update, chunk, limiter=limiter)
    return builder.finish().cid, builder.size


def handoff_opener(sources: RemoteSources, item: RemoteItem,
                   first: ResumingReader | None) -> ReaderOpener:
    """Opens for an upload's attempts: ``first`` (if any) once, then fresh reads.

    A fresh read of a URL must describe the object as the first did (size and
    validators), or it is refused as changed before a byte is sent.
    """
    state = {"first": first}

    @asynccontextmanager
    async def opener() -> AsyncIterator[ByteReader]:
        handed, state["first"] = state["first"], None
        if handed is not None:
            yield handed  # the caller owns (and closes) it
            return
        async with sources.open(item.listed) as reader:
            if item.described is not None and identity_of(item.described).contradicts(
                    identity_of(reader.object)):
                raise ObjectChanged(f"{item.url}: changed between two reads", url=item.url)
            yield reader

    return opener
