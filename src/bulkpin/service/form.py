"""A streaming ``multipart/form-data`` reader made for large uploads.

aiohttp's ``BodyPartReader.read_chunk`` copies every byte twice more (it
joins each read with the previous one to look for the boundary). On a machine
where the upload competes with its own client for the CPU that doubles the
cost of receiving, so uploads use this reader instead: part bodies come out as
views of the buffers the connection delivered, and only the few bytes that
might hold a boundary split across two reads are ever copied.

Headers of a part are parsed with aiohttp's own Content-Disposition parser.
Everything malformed raises :class:`~.errors.BadRequest`; a body that stalls
or trickles raises :class:`~.errors.RequestTimeout` (see :mod:`.body_rate`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from .body_rate import PacedBody
from .errors import BadRequest

#: Longest header line, and most header bytes, of one part.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 32
#: Bytes tolerated before the first boundary.
MAX_PREAMBLE = 64 * 1024


def _libc_find() -> Callable[[bytes, bytes], int] | None:
    """``bytes.find`` done by the C library's ``memmem``, if it has one.

    Every byte of an upload is searched for the boundary. ``memmem`` is about
    three times faster than ``bytes.find`` at that, and (called through ctypes)
    lets go of the GIL while it searches, so the threads hashing the upload
    keep running meanwhile.
    """
    name = ctypes.util.find_library("c")
    try:
        memmem = ctypes.CDLL(name).memmem if name else None
    except (OSError, AttributeError):
        memmem = None
    if memmem is None:
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)

    def find(data: bytes, needle: bytes) -> int:
        if len(data) < _MEMMEM_FROM:
            return data.find(needle)
        at = memmem(data, len(data), needle, len(needle))
        if at is None:
            return -1
        base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
        assert base is not None
        return int(at) - base

    return find


#: Below this many bytes ``bytes.find`` is as quick as a call through ctypes.
_MEMMEM_FROM = 16 * 1024
_find: Callable[[bytes, bytes], int] = _libc_find() or bytes.find


def _parse_disposition(value: str) -> tuple[str | None, str | None, str | None]:
    """A Content-Disposition's type, ``name`` and file name (aiohttp's parser)."""
    kind, params = parse_content_disposition(value)
    return kind, params.get("name"), content_disposition_filename(params, "filename")


#: Every upload repeats the same few headers (``form-data; name="cid"``...),
#: and aiohttp's parser compiles regular expressions on each call: a tenth of
#: the service's Python time on small uploads. Short values are remembered.
_CACHED_DISPOSITION = 256
_disposition = functools.lru_cache(maxsize=256)(_parse_disposition)


@dataclass(frozen=True)
class PartInfo:
    """A part's name and (for file parts) file name."""

    name: str | None
    filename: str | None


def form_boundary(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type; 400 if there is none."""
    mime = parse_mimetype(content_type)
    if (mime.type, mime.subtype) != ("multipart", "form-data"):
        raise BadRequest("expected a multipart/form-data body")
    boundary = mime.parameters.get("boundary", "")
    if not 1 <= len(boundary) <= 70 or not boundary.isascii():
        raise BadRequest("multipart/form-data needs a boundary of 1 to 70 ASCII characters")
    return boundary.encode("ascii")


class FormReader:
    """Parts of a form, in order: :meth:`next_part`, then :meth:`body` for each."""

    def __init__(self, body: PacedBody, boundary: bytes) -> None:
        self._body = body
        self._delimiter = b"\r\n--" + boundary
        # The body is read as if it began with CRLF, so the first boundary
        # (which has none before it) is found like every other one.
        self._left = b"\r\n"
        self._state = "preamble"  # -> "headers" -> "body" -> "headers"... -> "done"

    async def _more(self) -> bytes:
        try:
            data = await self._body.read()
        except (HttpProcessingError, ConnectionError) as exc:
            # Bad chunked framing, fewer bytes than Content-Length, a client gone.
            raise BadRequest(f"the body is malformed or cut short: {exc}"[:200]) from None
        if not data:
            raise BadRequest("the body ends before the form's closing boundary")
        return data

    async def _line(self) -> bytes:
        while (end := self._left.find(b"\r\n")) < 0:
            if len(self._left) > MAX_HEADER_BYTES:
                raise BadRequest("a multipart header line is too long")
            self._left += await self._more()
        line, self._left = self._left[:end], self._left[end + 2 :]
        return line

    async def _skip_preamble(self) -> None:
        skipped = 0
        while (at := self._left.find(self._delimiter)) < 0:
            keep = len(self._delimiter) - 1
            skipped += max(0, len(self._left) - keep)
            if skipped > MAX_PREAMBLE:
                raise BadRequest("no multipart boundary found where the body starts")
            self._left = self._left[-keep:] + await self._more()
        self._left = self._left[at + len(self._delimiter) :]

    async def next_part(self) -> PartInfo | None:
        """The next part's headers, or None after the closing boundary."""
        if self._state == "preamble":
            await self._skip_preamble()
        elif self._state == "body":
            async for _ in self.body():
                pass
        if self._state == "done":
            return None
        # What follows a delimiter: "--" (the end) or optional blanks, then CRLF.
        rest = await self._line()
        if rest.startswith(b"--"):
            self._state = "done"
            return None
        if rest.strip(b" \t"):
            raise BadRequest("malformed multipart boundary line")
        headers: dict[str, str] = {}
        total = 0
        while line := await self._line():
            total += len(line)
            if total > MAX_HEADER_BYTES or len(headers) >= MAX_HEADERS:
                raise BadRequest("too many multipart part headers")
            name, sep, value = line.partition(b":")
            if not sep or not name.strip():
                raise BadRequest("malformed multipart part header")
            key = name.strip().decode("latin-1").lower()
            headers[key] = value.strip().decode("utf-8", "replace")
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise BadRequest("a multipart part has no Content-Disposition")
        kind, part_name, filename = (
            _disposition(disposition) if len(disposition) <= _CACHED_DISPOSITION
            else _parse_disposition(disposition)
        )
        if kind != "form-data":
            raise BadRequest("a multipart part is not form-data")
        self._state = "body"
        return PartInfo(part_name, filename)

    async def body(self) -> AsyncIterator[bytes | memoryview]:
        """The current part's bytes, as they arrive; empty pieces are skipped."""
        if self._state != "body":
            return
        delimiter = self._delimiter
        keep = len(delimiter) - 1
        data = self._left
        self._left = b""
        while True:
            at = _find(data, delimiter)
            if at >= 0:
                if at:
                    yield memoryview(data)[:at]
                self._left = data[at + len(delimiter) :]
                self._state = "headers"
                return
            # All but the last few bytes are body for sure; those few may begin
            # a delimiter that the next read completes.
            safe = max(0, len(data) - keep)
            if safe:
                yield memoryview(data)[:safe]
            tail = data[safe:]
            piece = await self._more()
            joint = tail + piece[:keep]
            at = joint.find(delimiter)
            if 0 <= at < len(tail):
                if at:
                    yield tail[:at]
                self._left = piece[at + len(delimiter) - len(tail) :]
                self._state = "headers"
                return
            if tail:
                yield tail
            data = piece
