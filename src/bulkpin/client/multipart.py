"""The ``pinFile`` request body: one multipart/form-data body over any reader.

Parts, in the order the contract requires: ``file``, then ``decooMetadata``
(only when there is something to say), ``cid`` and ``secret``. What differs
between uploads is only where the ``file`` part's bytes come from, one
:class:`_Part` per attempt:

- **memory** (:class:`FileContent`): a small file the caller read whole (and
  hashed): every part is known before the first byte, so an unthrottled body
  is one write (aiohttp puts the request's headers in front of it: one send);
- **a local file**, read from disk once per attempt, ``hash_workers`` chunks
  read and hashed at once in threads (positional reads), joined in file order;
  its size, mtime and inode must stay what the first attempt saw, and are
  checked again after its last byte, before the ``cid`` part goes out;
- **a stream** (an S3 object, a URL), opened afresh per attempt by the
  caller's ``open_reader`` (an async context manager yielding anything with
  ``read(n)``), read and hashed up to :data:`READ_AHEAD` chunks ahead of the
  sending: the source and the service are two network paths whose speeds wobble
  independently, and with a few chunks of slack the transfer costs the slower
  leg, not the slower of each chunk's read and send. Its bytes are hashed even
  when the caller knows the CID, since they prove nothing until hashed.

The ``Content-Length`` is computed before the first byte is sent: a CID's text
length is fixed by its profile (46 characters for CIDv0, 59 for base32 CIDv1)
and a ``secret``'s base64 length by the key size. A stream of unknown size is
sent chunked instead, because a length promised and then missed would corrupt
the request. Whenever the bytes read are not what was promised (a file that
changed, a stream that ends short or hashes to another CID), the request is
abandoned before its ``cid`` part, so nothing is pinned under a CID that is not
the bytes sent; :class:`~.errors.FileChangedError` says why.

Memory is bounded by a few read chunks (:func:`buffer_bytes` for a stream,
``hash_workers + 1`` for a file) plus the socket's buffers, whatever the size.
Progress is reported as byte deltas of *file* bytes handed to the socket, like
s3transfer's subscribers: a failed attempt reports the negative of what it sent.
A ``throttle`` hook, when given, is awaited with each piece's size before the
piece goes to the socket (pieces of at most :data:`THROTTLE_PIECE` bytes), so a
rate limit paces the wire itself rather than the start of each file.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import secrets
import stat
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import aiofiles
import aiofiles.os
import aiofiles.threadpool.binary
import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from ..unixfs import DEFAULT_PROFILE, CidProfile, FileBuilder, Link, hash_bytes
from ..unixfs.file_builder import leaf_links
from ..unixfs.parallel import DEFAULT_HASH_WORKERS
from .errors import DecooError, FileChangedError, LocalFileError, TransportError, WriteTimeout

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MIN_PIECE",
    "READ_AHEAD",
    "THROTTLE_PIECE",
    "ByteReader",
    "FileContent",
    "MultipartUpload",
    "ProgressCallback",
    "ReadReport",
    "ReaderOpener",
    "Throttle",
    "UploadBody",
    "buffer_bytes",
    "cid_text_length",
    "secret_text_length",
]

#: A piece of the file as read, and the leaves hashed from it (when they were).
_Piece = tuple[bytes, "list[Link] | None"]

#: Bytes read from the file per step.
DEFAULT_CHUNK_SIZE: Final = 1024 * 1024

#: Called with a byte delta: positive as file bytes are sent, negative to rewind
#: a failed attempt.
ProgressCallback = Callable[[int], None]

#: Awaited with a piece's byte count before the piece is handed to the socket:
#: returns when the piece may go (a bandwidth limit's bucket).
Throttle = Callable[[int], Awaitable[None]]

#: The largest piece a throttled body sends at once: small against any sensible
#: limit's burst, so the wire's rate is smooth over windows of a second.
THROTTLE_PIECE: Final = 64 * 1024

#: Chunks a stream is read ahead of the one being sent.
READ_AHEAD: Final = 4
#: Bytes of a stream handed to a waiting sender without filling a whole chunk
#: (a UnixFS chunk).
MIN_PIECE: Final = 256 * 1024

#: Bytes in memory hashed on the loop rather than in a thread: a thread's round
#: trip costs more than hashing this much.
_INLINE_HASH: Final = 64 * 1024

#: ``decooMetadata``'s encoder, built once (``json.dumps`` with options builds one a call).
_JSON: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))

#: The boundary's prefix; a random hex part follows, so its length is fixed.
_BOUNDARY_PREFIX: Final = "bulkpin-"


def buffer_bytes(chunk_size: int = DEFAULT_CHUNK_SIZE, read_ahead: int = READ_AHEAD) -> int:
    """The most chunk bytes one streamed upload holds: queued, being read, being sent."""
    return (read_ahead + 2) * chunk_size


class ByteReader(Protocol):
    """What a stream is read from: ``read(n)`` gives up to ``n`` bytes, ``b""`` at the end."""

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` only once the stream is over (and proved whole)."""


#: Opens the stream again, from its first byte, for one attempt.
ReaderOpener = Callable[[], AbstractAsyncContextManager[ByteReader]]


@dataclass(frozen=True, slots=True)
class ReadReport:
    """What one attempt read, handed to the ``verify`` hook before ``cid`` is sent.

    The hook may raise (a :class:`~.errors.FileChangedError`, say) to abandon the
    upload, for example when ``size``/``mtime_ns`` differ from what the caller's
    journal recorded when it walked the tree.
    """

    path: Path
    size: int
    mtime_ns: int
    inode: int
    cid: str
    attempt: int
    #: The device the read file is on (0 when the caller read it: ``FileContent``).
    dev: int = 0


@dataclass(frozen=True, slots=True)
class FileContent:
    """A whole file, read by the caller, with what its ``fstat`` said around the read.

    The caller vouches that ``data`` is the file as it was at ``mtime_ns`` and
    ``inode`` (checked before and after reading, as the push pipeline does).
    """

    data: bytes
    mtime_ns: int
    inode: int


@functools.cache
def cid_text_length(profile: CidProfile) -> int:
    """The length of every CID string ``profile`` produces.

    Measured on a one-chunk and a many-chunk file, since single-chunk roots can
    use a different codec (raw) from multi-chunk roots (dag-pb); the lengths must
    agree or no length can be promised before the CID is known.
    """
    short = len(hash_bytes(b"", profile).cid)
    long = len(hash_bytes(bytes(profile.chunk_size + 1), profile).cid)
    if short != long:  # pragma: no cover - no standard profile does this
        raise ValueError(f"profile {profile.name} produces CIDs of varying length")
    return short


def secret_text_length(key_bits: int) -> int:
    """The base64 length of a ``secret`` made with a ``key_bits``-bit RSA key."""
    return 4 * math.ceil(math.ceil(key_bits / 8) / 3)


def _require_regular(st: os.stat_result, path: Path) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise LocalFileError(f"{path} is not a regular file")


def _quote_filename(name: str) -> str:
    # The WHATWG multipart/form-data encoding: percent-escape what would end the
    # quoted string or the header line; everything else is sent as UTF-8.
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _part_head(boundary: str, name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    lines = [f"--{boundary}"]
    if filename is not None:
        disposition += f'; filename="{_quote_filename(filename)}"'
        lines.append(f"Content-Disposition: {disposition}")
        lines.append("Content-Type: application/octet-stream")
    else:
        lines.append(f"Content-Disposition: {disposition}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "replace")


class MultipartUpload:
    """One upload, from which each attempt draws a fresh :class:`UploadBody`.

    ``path`` is the local file read (or, with ``content`` or ``open_reader``,
    only the name of the file part). ``sign`` turns a CID into its ``secret``;
    ``secret_length`` is the length it will have (:func:`secret_text_length`).
    With ``cid`` given, a file or its content is taken to hash to it; without,
    the CID is computed while the bytes are sent. A stream (``open_reader``)
    has ``size`` bytes (None: unknown, sent chunked) and is always hashed.

    While a file streams, ``hash_workers`` pieces of it are read and their
    leaves hashed at once, on as many threads, and the leaves joined in file
    order; with 1 (or a ``chunk_size`` that is not a whole number of the
    profile's chunks) one piece is read and hashed at a time.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sign: Callable[[str], str],
        secret_length: int,
        cid: str | None = None,
        name: str | None = None,
        profile: CidProfile = DEFAULT_PROFILE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        on_progress: ProgressCallback | None = None,
        verify: Callable[[ReadReport], None] | None = None,
        stall_timeout: float | None = None,
        content: FileContent | None = None,
        hash_workers: int = DEFAULT_HASH_WORKERS,
        throttle: Throttle | None = None,
        open_reader: ReaderOpener | None = None,
        size: int | None = None,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if hash_workers < 1:
            raise ValueError("hash_workers must be at least 1")
        if read_ahead < 1:
            raise ValueError("read_ahead must be at least 1")
        if size is not None and size < 0:
            raise ValueError("size must not be negative")
        self.hash_workers = hash_workers
        self.read_ahead = read_ahead
        self._path = path
        self._path_object: Path | None = None
        self.profile = profile
        self.cid = cid
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.throttle = throttle
        self.verify = verify
        self.stall_timeout = stall_timeout
        #: The file's bytes, when the caller read them: sent from memory.
        self.content = content
        self.open_reader = open_reader
        self._sign = sign
        self._secret_length = secret_length
        self._cid_length = len(cid) if cid is not None else cid_text_length(profile)
        # Sent as the part's filename, as the SDK does; the service falls back to
        # it when there is no decooMetadata name.
        # (os.path, not a Path per upload: only a report or an error needs one.)
        base = os.path.basename(os.fspath(path))
        if base in ("", "."):
            base = Path(path).name
        self.filename = os.fsdecode(base) or (cid or "file")
        metadata: dict[str, Any] = {}
        if name is not None:
            metadata["name"] = name
        if profile != DEFAULT_PROFILE:
            # The contract: non-default CID parameters are stated explicitly.
            metadata.setdefault("name", self.filename)
            metadata["cidProfile"] = profile.name
        self._metadata_part = _JSON.encode(metadata).encode("ascii") if metadata else None
        self._trailer_length: int | None = None
        #: Bytes the item has: a stream's as promised (or as its first complete
        #: attempt read), a file's as the first attempt saw them.
        self.size: int | None = size if open_reader is not None else None
        #: The size was promised (a stream's ``size``): the body has a length.
        self.promised = open_reader is None or size is not None
        # A stream has neither: its source has validators of its own.
        self.mtime_ns: int | None = 0 if open_reader is not None else None
        self.inode: int | None = 0 if open_reader is not None else None
        self.attempts = 0
        #: The CID the first complete read computed.
        self.computed_cid: str | None = None

    @property
    def path(self) -> Path:
        """The file read (or the name of the file part)."""
        if self._path_object is None:
            self._path_object = Path(self._path)
        return self._path_object

    @property
    def known_cid(self) -> str | None:
        """The CID given, or the one computed by an attempt that read the whole item."""
        return self.cid if self.cid is not None else self.computed_cid

    async def open(self) -> UploadBody:
        """Open the item's bytes for one attempt and return that attempt's body.

        Raises :class:`LocalFileError` if a file cannot be opened, and
        :class:`FileChangedError` if it differs from what an earlier attempt saw;
        a stream's opener raises its own errors.
        """
        part: _Part
        if self.content is not None:
            content = self.content
            self.size, self.mtime_ns, self.inode = (
                len(content.data), content.mtime_ns, content.inode
            )
            part = _MemoryPart(content)
        elif self.open_reader is not None:
            part = await _StreamPart.open(self)
        else:
            part = await _FilePart.open(self)
        self.attempts += 1
        return UploadBody(self, part, self.attempts)

    def check_unchanged(self, st: os.stat_result) -> None:
        """Raise :class:`FileChangedError` if the file is not what an earlier attempt saw."""
        seen = (st.st_size, st.st_mtime_ns, st.st_ino)
        if self.size is None:
            self.size, self.mtime_ns, self.inode = seen
        elif seen != (self.size, self.mtime_ns, self.inode):
            raise FileChangedError(f"{self.path} changed since the previous attempt read it")

    def check_cid(self, cid: str) -> None:
        """Raise :class:`FileChangedError` unless ``cid`` agrees with earlier knowledge."""
        for earlier, what in ((self.cid, "the CID it was hashed to first"),
                              (self.computed_cid, "what an earlier attempt read")):
            if earlier is not None and cid != earlier:
                raise FileChangedError(
                    f"{self.filename}: the bytes read hash to {cid}, not {earlier}"
                    f" ({what}): the source changed", operation="pinFile",
                )
        if len(cid) != self._cid_length:
            raise AssertionError(f"CID of {len(cid)} characters, promised {self._cid_length}")
        self.computed_cid = cid

    # The parts around the file, which do not depend on the attempt except for
    # the boundary, whose length is fixed: so is the trailer's.
    def head(self, boundary: str) -> bytes:
        """The ``file`` part's head."""
        return _part_head(boundary, "file", self.filename)

    def trailer(self, boundary: str, cid: str) -> bytes:
        """Everything after the file's bytes: metadata, ``cid``, ``secret``, the close."""
        secret = self._sign(cid)
        if len(secret) != self._secret_length:
            raise AssertionError("secret length differs from the one promised")
        pieces = [b"\r\n"]
        if self._metadata_part is not None:
            pieces += [_part_head(boundary, "decooMetadata"), self._metadata_part, b"\r\n"]
        pieces += [_part_head(boundary, "cid"), cid.encode("ascii"), b"\r\n"]
        pieces += [_part_head(boundary, "secret"), secret.encode("ascii"), b"\r\n"]
        pieces.append(f"--{boundary}--\r\n".encode("ascii"))
        return b"".join(pieces)

    def trailer_length(self, boundary: str) -> int:
        """The length :meth:`trailer` will have, known before the CID is."""
        if self._trailer_length is None:
            fixed = 2 + len(boundary) + 4  # the close, "--" boundary "--\r\n"
            parts = 2 + len(_part_head(boundary, "cid")) + self._cid_length + 2
            parts += len(_part_head(boundary, "secret")) + self._secret_length + 2
            if self._metadata_part is not None:
                parts += len(_part_head(boundary, "decooMetadata")) + len(self._metadata_part) + 2
            self._trailer_length = parts + fixed
        return self._trailer_length


class _Part:
    """Where one attempt's ``file`` part bytes come from (a file, memory, a stream)."""

    #: Its bytes are hashed even when the upload's CID is given.
    always_hash = False
    #: The whole part, when it is in memory: the body then goes in one piece.
    whole: bytes | None = None

    def start(self, builder: FileBuilder | None) -> None:
        """Begin reading; every chunk :meth:`next` returns is fed to ``builder`` first."""

    async def next(self) -> bytes | memoryview:
        """The next chunk, hashed; ``b""`` at the end."""
        raise NotImplementedError  # pragma: no cover - each part says

    async def hash_whole(self, builder: FileBuilder) -> None:
        """Hash :attr:`whole` into ``builder``."""
        raise NotImplementedError  # pragma: no cover - only a part in memory has one

    def end(self, upload: MultipartUpload, total: int) -> tuple[int, int, int]:
        """After the last byte: check what was read; its ``(mtime_ns, inode, dev)``."""
        raise NotImplementedError  # pragma: no cover - each part says

    async def aclose(self) -> None:
        """Stop reading and release the source (safe once the attempt is over)."""


class _MemoryPart(_Part):
    """A file the caller read whole."""

    def __init__(self, content: FileContent) -> None:
        self._content = content
        self.whole = content.data

    async def hash_whole(self, builder: FileBuilder) -> None:
        data = self._content.data
        if len(data) <= _INLINE_HASH:
            builder.update(data)
        else:
            await asyncio.get_running_loop().run_in_executor(None, builder.update, data)

    def end(self, upload: MultipartUpload, total: int) -> tuple[int, int, int]:
        # Read and checked by the caller.
        return self._content.mtime_ns, self._content.inode, 0


class _FilePart(_Part):
    """A local file, read with positional reads in worker threads and hashed there."""

    def __init__(self, upload: MultipartUpload,
                 handle: aiofiles.threadpool.binary.AsyncFileIO) -> None:
        self._upload = upload
        self._handle = handle
        self._fd = handle.fileno()
        assert upload.size is not None
        self._file_size = upload.size
        self._inflight: set[asyncio.Future[Any]] = set()
        self._reading: deque[asyncio.Future[_Piece]] = deque()
        self._offset = 0
        self._remaining = upload.size
        self._builder: FileBuilder | None = None
        self._leaf_profile: CidProfile | None = None
        self._depth = 1

    @classmethod
    async def open(cls, upload: MultipartUpload) -> _FilePart:
        path = upload.path
        try:
            # Looked at before opening: opening a FIFO would block until a writer came.
            _require_regular(await aiofiles.os.stat(path), path)
            handle = await aiofiles.open(path, "rb", buffering=0)
        except OSError as exc:
            raise LocalFileError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            st = os.fstat(handle.fileno())
            _require_regular(st, path)
            upload.check_unchanged(st)
        except BaseException:
            await handle.close()
            raise
        return cls(upload, handle)

    def start(self, builder: FileBuilder | None) -> None:
        # The next chunks are read and hashed in worker threads (file reads
        # and hashlib release the GIL) while this one is sent, so the socket
        # never waits on the disk or the hash. Hashing right after reading
        # finds the bytes still in the CPU's cache, and one hand-off per chunk
        # instead of two halves the threads' round trips. With several hash
        # workers, as many chunks are read and hashed at once, each into its
        # own leaves (positional reads: no shared file offset), and their
        # leaves are joined here in file order; with one, the builder itself
        # is fed in its thread, one chunk at a time.
        upload = self._upload
        self._builder = builder
        if builder is not None and upload.hash_workers > 1 \
                and upload.chunk_size % upload.profile.chunk_size == 0:
            self._leaf_profile = upload.profile
            self._depth = upload.hash_workers
        self._read_ahead()

    def _read_ahead(self) -> None:
        loop = asyncio.get_running_loop()
        chunk_size = self._upload.chunk_size
        while len(self._reading) < self._depth and self._offset < self._file_size:
            size = min(chunk_size, self._file_size - self._offset)
            future = loop.run_in_executor(None, self._read_chunk, self._fd, self._offset, size,
                                          self._builder, self._leaf_profile)
            # Work handed to threads must finish before the file is closed.
            self._inflight.add(future)
            future.add_done_callback(self._inflight.discard)
            self._reading.append(future)
            self._offset += size

    @staticmethod
    def _read_chunk(
        fd: int,
        offset: int,
        size: int,
        builder: FileBuilder | None,
        leaf_profile: CidProfile | None,
    ) -> _Piece:
        """In a worker thread: read ``size`` bytes at ``offset`` and hash them.

        With ``leaf_profile``, the leaves of the whole chunks read are returned
        for the caller to join in order (several of these run at once). Else
        ``builder``, if any, is fed here: in file order, because only one read
        is in flight at a time. A fresh ``bytes`` per chunk: the socket
        transport may hold on to what it is given, and unlike a ``bytearray``
        it is not zero-filled before the read fills it (that memset was 2% of
        a large push's CPU). glibc's arena cap (:mod:`bulkpin._malloc`) keeps
        these threads' allocations from spreading over arenas.
        """
        chunk = os.pread(fd, size, offset)
        if len(chunk) < size:
            return chunk, None  # the file shrank: next() says so
        if leaf_profile is not None:
            whole = size - size % leaf_profile.chunk_size
            return chunk, leaf_links(leaf_profile, memoryview(chunk)[:whole])
        if builder is not None and chunk:
            builder.update(chunk)
        return chunk, None

    async def next(self) -> bytes | memoryview:
        if not self._remaining:
            return b""
        upload = self._upload
        try:
            # Shielded: a cancelled upload must not abandon a read still running
            # in its thread; aclose() waits for it before closing the file.
            chunk, leaves = await asyncio.shield(self._reading.popleft())
        except OSError as exc:
            raise LocalFileError(f"cannot read {upload.path}: {exc.strerror or exc}") from None
        if len(chunk) < min(upload.chunk_size, self._remaining):
            # A regular file reads short only at its end: it is shorter than
            # it was when opened.
            raise FileChangedError(
                f"{upload.path} shrank while it was read "
                f"({self._file_size - self._remaining + len(chunk)} of {self._file_size} bytes)"
            )
        if leaves is not None:
            assert self._builder is not None
            self._builder.add_leaves(leaves)
            # Only the file's last piece can end in a partial chunk.
            self._builder.update(memoryview(chunk)[len(leaves) * upload.profile.chunk_size:])
        self._remaining -= len(chunk)
        self._read_ahead()
        return chunk

    def end(self, upload: MultipartUpload, total: int) -> tuple[int, int, int]:
        st = os.fstat(self._fd)
        if (st.st_size, st.st_mtime_ns) != (upload.size, upload.mtime_ns):
            raise FileChangedError(f"{upload.path} changed while it was read")
        return st.st_mtime_ns, st.st_ino, st.st_dev

    async def aclose(self) -> None:
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self._handle.close()


class _StreamPart(_Part):
    """A stream read ahead of the sending, hashed as it is read."""

    always_hash = True

    def __init__(self, upload: MultipartUpload, reader: ByteReader, stack: AsyncExitStack) -> None:
        self._upload = upload
        self._reader = reader
        self._stack = stack
        self._eof = False
        self._total = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(upload.read_ahead)
        self._reading: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, upload: MultipartUpload) -> _StreamPart:
        assert upload.open_reader is not None
        stack = AsyncExitStack()
        try:
            reader = await stack.enter_async_context(upload.open_reader())
        except BaseException:
            await stack.aclose()
            raise
        return cls(upload, reader, stack)

    def start(self, builder: FileBuilder | None) -> None:
        assert builder is not None
        self._reading = asyncio.ensure_future(self._read_ahead(builder))

    async def _fill(self) -> bytes:
        """The next chunk: up to ``chunk_size`` bytes, ``b""`` at the end of the stream.

        Cut short at :data:`MIN_PIECE` bytes when the sender has nothing
        queued: a slow source then does not keep the service waiting for a
        whole chunk at the start of every object.
        """
        want = self._upload.chunk_size
        least = min(want, MIN_PIECE)
        hungry = self._queue.empty
        pieces: list[bytes] = []
        got = 0
        while got < want and not self._eof and not (got >= least and hungry()):
            try:
                piece = await self._reader.read(want - got)
            except (DecooError, asyncio.CancelledError):
                raise
            except Exception as exc:
                # A reader that leaked its transport's error: the source failed,
                # not the connection to the service.
                raise TransportError(f"the source failed: {exc}") from exc
            if not piece:
                self._eof = True
            pieces.append(piece)
            got += len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def _read_ahead(self, builder: FileBuilder) -> None:
        """Fill the queue with hashed chunks, ending with ``b""``; blocks while it is full."""
        upload = self._upload
        loop = asyncio.get_running_loop()
        while True:
            chunk = await self._fill()
            if chunk:
                self._total += len(chunk)
                if upload.promised and upload.size is not None and self._total > upload.size:
                    raise FileChangedError(f"{upload.filename}: more than the {upload.size}"
                                           " bytes listed", operation="pinFile")
                # In a thread (hashlib releases the GIL) while earlier chunks are sent.
                await loop.run_in_executor(None, builder.update, chunk)
            await self._queue.put(chunk)
            if not chunk:
                return

    async def next(self) -> bytes | memoryview:
        """The next chunk read ahead, or the reader's error as soon as it is raised."""
        queue, reading = self._queue, self._reading
        assert reading is not None
        if queue.empty():
            getting = asyncio.ensure_future(queue.get())
            try:
                await asyncio.wait({getting, reading}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getting.done():
                    # A cancelled get leaves its item in the queue.
                    getting.cancel()
            if getting.done() and not getting.cancelled():
                return getting.result()
            if queue.empty():
                await reading  # it ended with nothing queued: raises the reader's error
                raise AssertionError("the read-ahead ended without its last chunk")
        return queue.get_nowait()

    def end(self, upload: MultipartUpload, total: int) -> tuple[int, int, int]:
        if upload.size is not None and total != upload.size:
            raise FileChangedError(
                f"{upload.filename}: {total} bytes read, {upload.size} expected",
                operation="pinFile",
            )
        upload.size = total
        return 0, 0, 0

    async def aclose(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            reading.cancel()
        if reading is not None:
            # Waited for, not awaited: its own error (or cancellation) was
            # already reported, or does not matter once the attempt is over.
            await asyncio.wait([reading])
            if not reading.cancelled():
                reading.exception()
        await self._stack.aclose()


class UploadBody(Payload):
    """One attempt's request body: an aiohttp payload, produced once as aiohttp sends it.

    ``size`` is exact, or None (chunked) for a stream of unknown length. After
    the request, :attr:`complete` says whether every byte was handed to the
    socket (if the answer is then lost, the outcome is unknown), :attr:`sent`
    how many file bytes were, :attr:`cid` the CID that was sent, and
    :attr:`error` an error raised while producing the body, which aiohttp would
    otherwise bury inside a generic connection error.
    """

    def __init__(self, upload: MultipartUpload, part: _Part, attempt: int) -> None:
        self._upload = upload
        self._part = part
        self._attempt = attempt
        self._boundary = _BOUNDARY_PREFIX + secrets.token_hex(16)
        super().__init__(None, content_type=f"multipart/form-data; boundary={self._boundary}")
        self._head = upload.head(self._boundary)
        self._size = (
            len(self._head) + upload.size + upload.trailer_length(self._boundary)
            if upload.promised and upload.size is not None else None
        )
        self.complete = False
        self.sent = 0
        self.cid: str | None = upload.cid
        self.error: BaseException | None = None
        self._written = 0
        self._closed = False

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Not available: the body is a stream, produced once."""
        raise TypeError("a streamed upload body cannot be decoded")

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Stream the body; called by aiohttp once per request."""
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Stream the body, recording any error of ours before aiohttp wraps it."""
        try:
            if self._part.whole is not None:
                await self._produce_whole(writer, self._part.whole)
            else:
                await self._produce(writer)
        except (OSError, aiohttp.ClientError, asyncio.CancelledError):
            # The connection's failure (or a cancellation): aiohttp reports it.
            raise
        except BaseException as exc:
            # Ours: a check, the source, the verify hook, signing. Kept so the
            # client raises it rather than the connection error aiohttp turns it into.
            if self.error is None:
                self.error = exc
            raise
        if self._size is not None and self._written != self._size:
            raise AssertionError(f"body of {self._written} bytes, promised {self._size}")
        self.complete = True

    async def _produce_whole(self, writer: AbstractStreamWriter, data: bytes) -> None:
        # Everything is known before the first byte: checked, hashed and signed
        # first, then one write when nothing paces it.
        upload = self._upload
        builder = None
        if upload.cid is None:
            builder = FileBuilder(upload.profile)
            await self._part.hash_whole(builder)
        trailer = upload.trailer(self._boundary, self._finish(builder, len(data)))
        if upload.throttle is None:
            await self._send(writer, b"".join((self._head, data, trailer)))
            self._count(len(data))
            return
        await self._send(writer, self._head)
        await self._send_file_bytes(writer, data)
        await self._send(writer, trailer)

    async def _produce(self, writer: AbstractStreamWriter) -> None:
        upload, part = self._upload, self._part
        builder = (
            FileBuilder(upload.profile) if upload.cid is None or part.always_hash else None
        )
        part.start(builder)
        await self._send(writer, self._head)
        total = 0
        while chunk := await part.next():
            total += len(chunk)
            await self._send_file_bytes(writer, chunk)
        trailer = upload.trailer(self._boundary, self._finish(builder, total))
        await self._send(writer, trailer)

    def _finish(self, builder: FileBuilder | None, total: int) -> str:
        """After the file's bytes: check them, then the CID to send (the verify hook's say)."""
        upload = self._upload
        mtime_ns, inode, dev = self._part.end(upload, total)
        if builder is not None:
            self.cid = builder.finish().cid
            upload.check_cid(self.cid)
        assert self.cid is not None
        if upload.verify is not None:
            upload.verify(ReadReport(path=upload.path, size=total, mtime_ns=mtime_ns,
                                     inode=inode, cid=self.cid, attempt=self._attempt, dev=dev))
        return self.cid

    def _count(self, n: int) -> None:
        self.sent += n
        if self._upload.on_progress is not None:
            self._upload.on_progress(n)

    async def _send_file_bytes(
        self, writer: AbstractStreamWriter, data: bytes | memoryview
    ) -> None:
        """Hand file bytes to the socket, each piece paid to the throttle first.

        The one place a body's file bytes go out, whatever they are read from,
        so ``--bwlimit`` paces the wire (not each item up front) and progress
        counts what was handed over.
        """
        throttle = self._upload.throttle
        if throttle is None:
            # Unthrottled, the chunk goes whole: no extra writes on the fast path.
            await self._send(writer, data)
            self._count(len(data))
            return
        view = memoryview(data)
        for start in range(0, len(view), THROTTLE_PIECE):
            piece = view[start : start + THROTTLE_PIECE]
            await throttle(len(piece))
            await self._send(writer, piece)
            self._count(len(piece))

    async def _send(
        self, writer: AbstractStreamWriter, data: bytes | bytearray | memoryview
    ) -> None:
        # No total timeout applies to an upload, so a service that stops reading
        # would hang it forever: each write must make progress within the
        # stall timeout instead.
        timeout = self._upload.stall_timeout
        try:
            async with asyncio.timeout(timeout):
                await writer.write(data)
        except TimeoutError:
            self.error = WriteTimeout(
                f"the service accepted none of the request body for {timeout:g} s"
            )
            raise
        self._written += len(data)

    def rewind_progress(self) -> None:
        """Report the negative of what this attempt sent (it failed)."""
        if self.sent and self._upload.on_progress is not None:
            self._upload.on_progress(-self.sent)
        self.sent = 0

    async def aclose(self) -> None:
        """Stop reads and hashing still running, then release the source.

        Safe to call more than once.
        """
        if self._closed:
            return
        self._closed = True
        await self._part.aclose()
