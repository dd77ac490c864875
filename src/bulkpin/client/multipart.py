"""The ``pinFile`` request body: streaming multipart/form-data with an exact length.

Parts, in the order the contract requires: ``file``, then ``decooMetadata``
(only when there is something to say), ``cid`` and ``secret``. The
``Content-Length`` is computed before the first byte is sent, in both modes:

- **CID known**: every part is known up front;
- **CID computed while streaming**: the file's bytes feed a
  :class:`~bulkpin.unixfs.FileBuilder` as they are sent, and ``cid`` and
  ``secret`` are written after the file. Their lengths are still known in
  advance: a CID's text length is fixed by its profile (46 characters for
  CIDv0, 59 for base32 CIDv1 with sha2-256) and a ``secret``'s base64 length by
  the key size. Every byte is read from disk once per attempt.

A file the caller has already read whole (a small one, hashed before it is
sent) can be given as :class:`FileContent`: the body is then sent from memory,
so the file is read once in all, not once to hash and again to send.

Memory is bounded by ``hash_workers + 1`` read chunks (one being sent, the others
being read and hashed) plus the socket's buffers, whatever the file size. Each
attempt re-opens the file (a streamed body can be consumed once) and checks that
its size and modification time are what the first attempt saw; the
file is checked again after its last byte, before the ``cid`` part goes out, so a
file that changed while it was read is never pinned under a wrong CID: the
request is abandoned part-way and :class:`~.errors.FileChangedError` raised.

Progress is reported as byte deltas of *file* bytes handed to the socket, like
s3transfer's subscribers: when an attempt fails, the client reports the negative
of what that attempt sent, so the running total is always true.

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
import stat
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import aiofiles
import aiofiles.os
import aiofiles.threadpool.binary
import aiohttp
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from ..unixfs import DEFAULT_PROFILE, CidProfile, FileBuilder, Link, hash_bytes
from ..unixfs.file_builder import leaf_links
from ..unixfs.parallel import DEFAULT_HASH_WORKERS
from .errors import FileChangedError, LocalFileError, WriteTimeout

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "THROTTLE_PIECE",
    "BodyStream",
    "FileContent",
    "MultipartUpload",
    "ProgressCallback",
    "ReadReport",
    "Throttle",
    "UploadBody",
    "cid_text_length",
    "secret_text_length",
]

T = TypeVar("T")

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
    """One file's upload, from which each attempt draws a fresh :class:`UploadBody`.

    ``sign`` turns a CID into its ``secret``; ``secret_length`` is the length it
    will have (:func:`secret_text_length`). With ``cid`` given, the body is fully
    known before sending; without, the CID is computed while the file streams.

    While streaming, ``hash_workers`` pieces of the file are read and their
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
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if hash_workers < 1:
            raise ValueError("hash_workers must be at least 1")
        self.hash_workers = hash_workers
        self.path = Path(path)
        self.profile = profile
        self.cid = cid
        self.chunk_size = chunk_size
        self.on_progress = on_progress
        self.throttle = throttle
        self.verify = verify
        self.stall_timeout = stall_timeout
        #: The file's bytes, when the caller read them: sent from memory.
        self.content = content
        self._sign = sign
        self._secret_length = secret_length
        self._cid_length = len(cid) if cid is not None else cid_text_length(profile)
        # Sent as the part's filename, as the SDK does; the service falls back to
        # it when there is no decooMetadata name.
        self.filename = os.fsdecode(self.path.name) or (cid or "file")
        metadata: dict[str, Any] = {}
        if name is not None:
            metadata["name"] = name
        if profile != DEFAULT_PROFILE:
            # The contract: non-default CID parameters are stated explicitly.
            metadata.setdefault("name", self.filename)
            metadata["cidProfile"] = profile.name
        self.metadata: Mapping[str, Any] | None = metadata or None
        #: Size and mtime seen by the first attempt; later attempts must match.
        self.size: int | None = None
        self.mtime_ns: int | None = None
        self.inode: int | None = None
        self.attempts = 0
        #: The CID the first complete read computed (streaming mode).
        self.computed_cid: str | None = None

    @property
    def known_cid(self) -> str | None:
        """The CID given, or the one computed by an attempt that read the whole file."""
        return self.cid if self.cid is not None else self.computed_cid

    async def open(self) -> UploadBody:
        """Open the file for one attempt and return that attempt's body.

        Raises :class:`LocalFileError` if the file cannot be opened, and
        :class:`FileChangedError` if it differs from what an earlier attempt saw.
        """
        if self.content is not None:
            content = self.content
            self.size, self.mtime_ns, self.inode = (
                len(content.data), content.mtime_ns, content.inode
            )
            self.attempts += 1
            return UploadBody(self, None, self.attempts)
        try:
            # Looked at before opening: opening a FIFO would block until a writer came.
            _require_regular(await aiofiles.os.stat(self.path), self.path)
            handle = await aiofiles.open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise LocalFileError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        try:
            st = os.fstat(handle.fileno())
            _require_regular(st, self.path)
            self._check_unchanged(st)
        except BaseException:
            await handle.close()
            raise
        self.attempts += 1
        return UploadBody(self, handle, self.attempts)

    def _check_unchanged(self, st: os.stat_result) -> None:
        seen = (st.st_size, st.st_mtime_ns, st.st_ino)
        if self.size is None:
            self.size, self.mtime_ns, self.inode = seen
        elif seen != (self.size, self.mtime_ns, self.inode):
            raise FileChangedError(f"{self.path} changed since the previous attempt read it")

    # The parts around the file, which do not depend on the attempt except for
    # the boundary.
    def _head(self, boundary: str) -> bytes:
        return _part_head(boundary, "file", self.filename)

    def _trailer(self, boundary: str, cid: str, secret: str) -> bytes:
        pieces = [b"\r\n"]
        if self.metadata is not None:
            value = json.dumps(self.metadata, ensure_ascii=True, separators=(",", ":"))
            pieces += [_part_head(boundary, "decooMetadata"), value.encode("ascii"), b"\r\n"]
        pieces += [_part_head(boundary, "cid"), cid.encode("ascii"), b"\r\n"]
        pieces += [_part_head(boundary, "secret"), secret.encode("ascii"), b"\r\n"]
        pieces.append(f"--{boundary}--\r\n".encode("ascii"))
        return b"".join(pieces)

    def _trailer_length(self, boundary: str) -> int:
        return len(self._trailer(boundary, "c" * self._cid_length, "s" * self._secret_length))


class BodyStream(Payload):
    """An upload's multipart body, produced once by :meth:`_produce` as aiohttp sends it.

    What the file body (:class:`UploadBody`) and the stream body
    (:class:`~.stream_body.StreamBody`) share: the boundary, the outcome
    attributes, keeping our own errors from aiohttp's wrapping, and the stall
    timeout on each write.
    """

    def __init__(self, stall_timeout: float | None, *,
                 on_progress: ProgressCallback | None = None,
                 throttle: Throttle | None = None) -> None:
        self._stall_timeout = stall_timeout
        self._on_progress = on_progress
        self._throttle = throttle
        self._boundary = f"bulkpin-{uuid.uuid4().hex}"
        super().__init__(None, content_type=f"multipart/form-data; boundary={self._boundary}")
        self.complete = False
        self.sent = 0
        self.cid: str | None = None
        self.error: BaseException | None = None
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

    async def _send_file_bytes(
        self, writer: AbstractStreamWriter, data: bytes | memoryview
    ) -> None:
        """Hand file bytes to the socket, each piece paid to the throttle first.

        The one place a body's file bytes go out, whatever they are read from,
        so ``--bwlimit`` paces the wire (not each item up front) and progress
        counts what was handed over.
        """
        throttle, progress = self._throttle, self._on_progress
        # Unthrottled, the chunk goes whole: no extra writes on the fast path.
        step = THROTTLE_PIECE if throttle is not None else max(len(data), 1)
        view = memoryview(data)
        for start in range(0, len(view), step):
            piece = view[start : start + step]
            if throttle is not None:
                await throttle(len(piece))
            await self._send(writer, piece)
            self.sent += len(piece)
            if progress is not None:
                progress(len(piece))

    def rewind_progress(self) -> None:
        """Report the negative of what this attempt sent (it failed)."""
        if self.sent and self._on_progress is not None:
            self._on_progress(-self.sent)
        self.sent = 0

    async def _produce(self, writer: AbstractStreamWriter) -> None:
        raise NotImplementedError

    async def _send(
        self, writer: AbstractStreamWriter, data: bytes | bytearray | memoryview
    ) -> None:
        # No total timeout applies to an upload, so a service that stops reading
        # would hang it forever: each write must make progress within the
        # stall timeout instead.
        timeout = self._stall_timeout
        try:
            async with asyncio.timeout(timeout):
                await writer.write(data)
        except TimeoutError:
            self.error = WriteTimeout(
                f"the service accepted none of the request body for {timeout:g} s"
            )
            raise


class UploadBody(BodyStream):
    """One attempt's request body; an aiohttp payload with an exact ``size``.

    After the request, :attr:`complete` says whether every byte was handed to
    the socket (if the answer is then lost, the outcome is unknown), :attr:`sent`
    how many file bytes were, :attr:`cid` the CID that was sent, and
    :attr:`error` an error raised while producing the body, which aiohttp would
    otherwise bury inside a generic connection error.
    """

    def __init__(
        self,
        upload: MultipartUpload,
        handle: aiofiles.threadpool.binary.AsyncFileIO | None,
        attempt: int,
    ) -> None:
        self._upload = upload
        self._handle = handle
        self._attempt = attempt
        super().__init__(upload.stall_timeout, on_progress=upload.on_progress,
                         throttle=upload.throttle)
        assert upload.size is not None
        self._file_size = upload.size
        self._head_bytes = upload._head(self._boundary)
        self._size = (
            len(self._head_bytes) + self._file_size + upload._trailer_length(self._boundary)
        )
        self.cid = upload.cid
        self._written = 0
        self._inflight: set[asyncio.Future[Any]] = set()

    async def _send(
        self, writer: AbstractStreamWriter, data: bytes | bytearray | memoryview
    ) -> None:
        await super()._send(writer, data)
        self._written += len(data)

    async def _produce(self, writer: AbstractStreamWriter) -> None:
        upload = self._upload
        builder = FileBuilder(upload.profile) if upload.cid is None else None
        await self._send(writer, self._head_bytes)
        remaining = self._file_size
        # The next chunks are read and hashed in worker threads (file reads
        # and hashlib release the GIL) while this one is sent, so the socket
        # never waits on the disk or the hash. Hashing right after reading
        # finds the bytes still in the CPU's cache, and one hand-off per chunk
        # instead of two halves the threads' round trips. With several hash
        # workers, as many chunks are read and hashed at once, each into its
        # own leaves (positional reads: no shared file offset), and their
        # leaves are joined here in file order; with one, the builder itself
        # is fed in its thread, one chunk at a time.
        if upload.content is not None:
            await self._produce_from_memory(writer, upload.content.data, builder)
            remaining = 0
        leaf_profile = (
            upload.profile
            if builder is not None and upload.hash_workers > 1
            and upload.chunk_size % upload.profile.chunk_size == 0
            else None
        )
        depth = upload.hash_workers if leaf_profile is not None else 1
        reading: deque[asyncio.Future[_Piece]] = deque()
        offset = self._file_size - remaining

        def read_ahead() -> None:
            nonlocal offset
            while len(reading) < depth and offset < self._file_size:
                size = min(upload.chunk_size, self._file_size - offset)
                reading.append(self._start_read(offset, size, builder, leaf_profile))
                offset += size

        read_ahead()
        while remaining:
            chunk, leaves = await self._finish_read(reading.popleft(), remaining)
            if leaves is not None:
                assert builder is not None
                builder.add_leaves(leaves)
                # Only the file's last piece can end in a partial chunk.
                builder.update(memoryview(chunk)[len(leaves) * upload.profile.chunk_size :])
            remaining -= len(chunk)
            read_ahead()
            await self._send_file_bytes(writer, chunk)
        cid = self._check_read(builder)
        secret = upload._sign(cid)
        if len(secret) != upload._secret_length:
            raise AssertionError("secret length differs from the one promised")
        await self._send(writer, upload._trailer(self._boundary, cid, secret))
        if self._written != self._size:
            raise AssertionError(f"body of {self._written} bytes, promised {self._size}")
        self.complete = True

    async def _produce_from_memory(
        self, writer: AbstractStreamWriter, data: bytes, builder: FileBuilder | None
    ) -> None:
        if builder is not None:
            await asyncio.get_running_loop().run_in_executor(None, builder.update, data)
        view = memoryview(data)
        for start in range(0, len(data), self._upload.chunk_size):
            await self._send_file_bytes(writer, view[start : start + self._upload.chunk_size])

    def _track(self, future: asyncio.Future[T]) -> asyncio.Future[T]:
        # Work handed to threads must finish before the file is closed.
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        return future

    def _start_read(
        self,
        offset: int,
        size: int,
        builder: FileBuilder | None,
        leaf_profile: CidProfile | None,
    ) -> asyncio.Future[_Piece]:
        assert self._handle is not None
        loop = asyncio.get_running_loop()
        fd = self._handle.fileno()
        return self._track(
            loop.run_in_executor(None, self._read_chunk, fd, offset, size, builder, leaf_profile)
        )

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
            return chunk, None  # the file shrank: _finish_read says so
        if leaf_profile is not None:
            whole = size - size % leaf_profile.chunk_size
            return chunk, leaf_links(leaf_profile, memoryview(chunk)[:whole])
        if builder is not None and chunk:
            builder.update(chunk)
        return chunk, None

    async def _finish_read(
        self, reading: asyncio.Future[_Piece], remaining: int
    ) -> _Piece:
        upload = self._upload
        try:
            # Shielded: a cancelled upload must not abandon a read still running
            # in its thread; aclose() waits for it before closing the file.
            chunk, leaves = await asyncio.shield(reading)
        except OSError as exc:
            self.error = LocalFileError(f"cannot read {upload.path}: {exc.strerror or exc}")
            raise self.error from None
        if len(chunk) < min(upload.chunk_size, remaining):
            # A regular file reads short only at its end: it is shorter than
            # it was when opened.
            self.error = FileChangedError(
                f"{upload.path} shrank while it was read "
                f"({self._file_size - remaining + len(chunk)} of {self._file_size} bytes)"
            )
            raise self.error
        return chunk, leaves

    def _check_read(self, builder: FileBuilder | None) -> str:
        """Confirm the file did not change while read; returns the CID to send."""
        upload = self._upload
        if self._handle is not None:
            st = os.fstat(self._handle.fileno())
            if (st.st_size, st.st_mtime_ns) != (upload.size, upload.mtime_ns):
                self.error = FileChangedError(f"{upload.path} changed while it was read")
                raise self.error
            mtime_ns, inode, dev = st.st_mtime_ns, st.st_ino, st.st_dev
        else:
            assert upload.content is not None  # read and checked by the caller
            mtime_ns, inode, dev = upload.content.mtime_ns, upload.content.inode, 0
        if builder is not None:
            cid = builder.finish().cid
            if upload.computed_cid is not None and cid != upload.computed_cid:
                # Same size and mtime, different bytes: rewritten within the
                # timestamp granularity.
                self.error = FileChangedError(f"{upload.path} changed between attempts")
                raise self.error
            upload.computed_cid = cid
            if len(cid) != upload._cid_length:
                raise AssertionError(f"CID of {len(cid)} characters, promised {upload._cid_length}")
            self.cid = cid
        assert self.cid is not None
        if upload.verify is not None:
            upload.verify(
                ReadReport(
                    path=upload.path,
                    size=self._file_size,
                    mtime_ns=mtime_ns,
                    inode=inode,
                    cid=self.cid,
                    attempt=self._attempt,
                    dev=dev,
                )
            )
        return self.cid

    async def aclose(self) -> None:
        """Wait for reads and hashing still running in threads, then close the file.

        Safe to call more than once.
        """
        if self._closed:
            return
        self._closed = True
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._handle is not None:
            await self._handle.close()
