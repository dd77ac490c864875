"""A CID list: a file, or stdin (``-``), one CID per line.

Format, line by line:

- ``<cid>`` or ``<cid> <name>``: the name is the rest of the line after the
  first run of whitespace, stripped (it may hold spaces, and ``#``);
- blank lines, and lines whose first non-blank character is ``#``, are skipped;
- CRLF line ends and a UTF-8 byte-order mark at the start are tolerated;
- the CID may be written ``/ipfs/<cid>`` or ``ipfs://<cid>``: the prefix is
  stripped (see :mod:`.cid_text` for what is accepted and how it is normalised).

A line that is not a CID (or not UTF-8, or longer than ``max_line_bytes``)
yields a :class:`~.items.BadLine` with its line number, and reading goes on.

Duplicates: by default a CID listed twice is yielded once (the first line
wins, its name too). That keeps a set of the binary CIDs seen, about 100 bytes
per distinct CID (some 40 MB for 400,000 CIDs). A caller that deduplicates
through its journal anyway passes ``dedupe=False`` and memory stays flat.

The file is read in blocks on a worker thread, so a slow pipe on stdin never
blocks the event loop, and at most one block plus one line is held at a time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path
from typing import BinaryIO, Final

import anyio.to_thread

from ..unixfs.node import cid_to_str
from .cid_text import InvalidCid, parse_cid
from .errors import SourceError
from .items import BadLine, PinItem, SourceEntry

__all__ = ["DEFAULT_MAX_LINE_BYTES", "STDIN", "CidListSource"]

#: The spec that means standard input.
STDIN: Final = "-"
#: A line longer than this is reported as bad without being held in memory.
DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024
_BLOCK: Final = 64 * 1024
_BOM: Final = b"\xef\xbb\xbf"
#: Bad text quoted in a BadLine is cut to this many characters.
_QUOTE_CHARS: Final = 200


class CidListSource:
    """The CIDs listed in a file, or on stdin when ``path`` is ``"-"``.

    ``stdin`` replaces ``sys.stdin.buffer`` (tests pass their own stream).
    Stdin can be listed once; a file is read afresh by each ``async for``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        dedupe: bool = True,
        stdin: BinaryIO | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self._path = os.fspath(path)
        self._dedupe = dedupe
        self._stdin = stdin
        self._max_line = max_line_bytes

    @property
    def label(self) -> str:
        """``stdin``, or the path as given."""
        return "stdin" if self._path == STDIN else self._path

    def __repr__(self) -> str:
        return f"CidListSource({self.label!r})"

    def __aiter__(self) -> AsyncGenerator[SourceEntry, None]:
        return self._entries()

    async def _entries(self) -> AsyncGenerator[SourceEntry, None]:
        seen: set[bytes] | None = set() if self._dedupe else None
        # aclosing: the file is closed as soon as this listing is, not at collection.
        async with aclosing(self._lines()) as lines:
            async for number, line in lines:
                entry = self._entry(number, line)
                if isinstance(entry, tuple):
                    raw, item = entry
                    if seen is not None:
                        if raw in seen:
                            continue
                        seen.add(raw)
                    yield item
                elif entry is not None:
                    yield entry

    def _entry(self, number: int, line: bytes | None) -> tuple[bytes, PinItem] | BadLine | None:
        """What line ``number`` holds: a CID (with its binary form), a bad line, or nothing.

        ``line`` is None for a line over the length limit, whose bytes were dropped.
        """
        if line is None:
            return BadLine(self.label, number, "", f"longer than {self._max_line} bytes")
        if number == 1 and line.startswith(_BOM):
            line = line[len(_BOM):]
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            quoted = line.decode("utf-8", "replace").strip()[:_QUOTE_CHARS]
            return BadLine(self.label, number, quoted, "not UTF-8 text")
        if not text or text.startswith("#"):
            return None
        parts = text.split(None, 1)
        try:
            raw = parse_cid(parts[0])
        except InvalidCid as exc:
            return BadLine(self.label, number, text[:_QUOTE_CHARS], exc.reason)
        name = parts[1].strip() if len(parts) > 1 else None
        return raw, PinItem(cid_to_str(raw), name or None, {}, f"{self.label}:{number}")

    async def _lines(self) -> AsyncGenerator[tuple[int, bytes | None], None]:
        """(line number, line without its end), reading blocks on a worker thread.

        A line longer than the limit comes as None, once, and its bytes are skipped.
        """
        stream, close = await self._open()
        try:
            pending = bytearray()
            number = 0
            skipping = False  # inside a line already reported as too long
            while True:
                try:
                    block = await anyio.to_thread.run_sync(_read_block, stream)
                except OSError as exc:
                    raise SourceError(
                        f"cannot read the CID list {self.label}: {exc.strerror or exc}"
                    ) from None
                if not block:
                    break
                pending += block
                start = 0
                while (end := pending.find(b"\n", start)) != -1:
                    line = bytes(pending[start:end])
                    start = end + 1
                    number += 1
                    if skipping:
                        skipping = False
                        continue
                    line = line.removesuffix(b"\r")
                    yield number, (line if len(line) <= self._max_line else None)
                del pending[:start]
                if len(pending) > self._max_line and not skipping:
                    # Report the line now, by the number it will have, and drop
                    # its bytes as they come: memory stays bounded whatever the input.
                    yield number + 1, None
                    skipping = True
                if skipping:
                    pending.clear()
            if pending and not skipping:
                yield number + 1, bytes(pending).removesuffix(b"\r")
        finally:
            # Closed here and synchronously (it is quick): an await in this
            # finally would not run if the listing was cancelled.
            if close:
                stream.close()

    async def _open(self) -> tuple[BinaryIO, bool]:
        """The stream to read, and whether it is ours to close."""
        if self._path == STDIN:
            return (self._stdin if self._stdin is not None else sys.stdin.buffer), False
        path = Path(self._path)
        try:
            stream = await anyio.to_thread.run_sync(path.open, "rb")
        except OSError as exc:
            raise SourceError(
                f"cannot read the CID list {self._path}: {exc.strerror or exc}"
            ) from None
        return stream, True


def _read_block(stream: BinaryIO) -> bytes:
    # read1 returns what a pipe has now instead of waiting for a full block.
    read1 = getattr(stream, "read1", None)
    return bytes(read1(_BLOCK) if read1 is not None else stream.read(_BLOCK))
