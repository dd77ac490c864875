"""Writing a CAR v1 stream, one section at a time, through any async ``write``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ..unixfs.node import varint
from ._header import encode_header

__all__ = ["CarWriter", "car_header", "section_prefix"]


def car_header(roots: Sequence[bytes]) -> bytes:
    """The framed header that starts a CAR v1 with these (binary) roots."""
    header = encode_header(roots)
    return varint(len(header)) + header


def section_prefix(cid: bytes, block_length: int) -> bytes:
    """The bytes before a block in its section: the length, then the CID.

    Apart from the block, so a large block is written without a copy.
    """
    return varint(len(cid) + block_length) + cid


class CarWriter:
    """Writes a header, then sections, to ``write`` (e.g. an aiohttp response's)."""

    def __init__(self, write: Callable[[bytes], Awaitable[None]]) -> None:
        self._write = write
        self._started = False
        #: Bytes written so far.
        self.bytes_written = 0

    async def _out(self, data: bytes) -> None:
        await self._write(data)
        self.bytes_written += len(data)

    async def header(self, roots: Sequence[bytes]) -> None:
        """Write the header; call once, first."""
        if self._started:
            raise RuntimeError("CarWriter.header() called twice")
        self._started = True
        await self._out(car_header(roots))

    async def block(self, cid: bytes, data: bytes) -> None:
        """Write one section (the caller vouches that ``data`` hashes to ``cid``)."""
        if not self._started:
            raise RuntimeError("CarWriter.block() before header()")
        await self._out(section_prefix(cid, len(data)))
        await self._out(data)
