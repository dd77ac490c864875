"""Reading a CAR v1 stream section by section, each block checked as it arrives.

A CAR v1 is ``varint(len) header`` then sections ``varint(len) CID block``.
The reader holds one block at a time, whatever the stream's length, and
checks every block against its CID's multihash before handing it out: what
it yields is proven, what it refuses raises :class:`~._errors.BlockMismatch`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from ..unixfs.node import block_matches, parse_cid
from ._errors import BlockMismatch, CarError, TruncatedCar, UnsupportedCar
from ._header import CarHeader, decode_header

__all__ = ["MAX_BLOCK", "MAX_HEADER", "ByteSource", "CarBlock", "CarReader"]

#: The largest block a section may carry: kubo and bitswap refuse blocks over
#: 2 MiB, and no profile of ours makes one over 1 MiB + its frame.
MAX_BLOCK = 2 * 1024 * 1024 + 1024
#: The largest header read: room for many roots, not for a stream's worth.
MAX_HEADER = 64 * 1024
#: A varint longer than this cannot be a length this reader accepts.
_MAX_VARINT = 9


class ByteSource(Protocol):
    """What the reader reads from: aiohttp's and asyncio's ``StreamReader`` are ones."""

    async def readexactly(self, n: int) -> bytes:
        """``n`` bytes, or ``asyncio.IncompleteReadError`` at the end of the stream."""
        ...


@dataclass(frozen=True, slots=True)
class CarBlock:
    """One section: a binary CID and the block its multihash was checked against."""

    cid: bytes
    data: bytes


class CarReader:
    """``async for block in CarReader(source)``: the header first (:meth:`header`), then blocks."""

    def __init__(
        self, source: ByteSource, *, max_block: int = MAX_BLOCK, max_header: int = MAX_HEADER
    ) -> None:
        self._source = source
        self._max_block = max_block
        self._max_header = max_header
        self._header: CarHeader | None = None
        #: Bytes read so far (header and sections).
        self.bytes_read = 0

    async def _exactly(self, n: int, what: str) -> bytes:
        try:
            data = await self._source.readexactly(n)
        except asyncio.IncompleteReadError:
            raise TruncatedCar(f"the CAR ends inside {what}") from None
        self.bytes_read += n
        return data

    async def _varint(self, what: str, *, at_boundary: bool = False) -> int | None:
        """A varint; None at a clean end of stream where ``at_boundary`` allows one."""
        value = shift = 0
        for i in range(_MAX_VARINT):
            try:
                byte = (await self._source.readexactly(1))[0]
            except asyncio.IncompleteReadError:
                if at_boundary and i == 0:
                    return None
                raise TruncatedCar(f"the CAR ends inside {what}") from None
            self.bytes_read += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if i and byte == 0:
                    raise CarError(f"{what}: a varint that is not minimal")
                return value
            shift += 7
        raise CarError(f"{what}: varint too long")

    async def header(self) -> CarHeader:
        """The stream's header (read on first call)."""
        if self._header is None:
            length = await self._varint("the header length")
            assert length is not None
            if not 0 < length <= self._max_header:
                raise CarError(f"a CAR header of {length} bytes (at most {self._max_header})")
            self._header = decode_header(await self._exactly(length, "the header"))
        return self._header

    async def _cid(self, section: int) -> bytes:
        """The section's CID, read field by field: its length is not framed on its own."""
        first = await self._exactly(2, "a CID")
        if first == b"\x12\x20":
            return first + await self._exactly(32, "a CID")
        if first[0] != 1:
            raise UnsupportedCar(f"CID version {first[0]} is not supported")
        # first[1] starts the codec varint; then come the multihash code and
        # the digest's length, each ended by a byte under 0x80.
        raw = bytearray(first)
        ended = int(first[1] < 0x80)
        length = shift = 0
        while ended < 3:
            if len(raw) > 1 + 3 * _MAX_VARINT:
                raise CarError("a CID prefix too long")
            byte = (await self._exactly(1, "a CID"))[0]
            raw.append(byte)
            if ended == 2:  # the digest length's varint
                length |= (byte & 0x7F) << shift
                shift += 7
            ended += int(byte < 0x80)
        if len(raw) + length > section:
            raise CarError("a CID longer than its section")
        return bytes(raw) + await self._exactly(length, "a CID")

    async def next_block(self) -> CarBlock | None:
        """The next checked block, or None at the end of the stream."""
        await self.header()
        section = await self._varint("a section length", at_boundary=True)
        if section is None:
            return None
        if section == 0:
            raise CarError("an empty section")
        if section > self._max_block + 64:
            raise CarError(f"a section of {section} bytes (blocks are at most {self._max_block})")
        cid = await self._cid(section)
        data = await self._exactly(section - len(cid), "a block")
        try:
            parts = parse_cid(cid)
            ok = block_matches(parts, data)
        except ValueError as exc:
            raise UnsupportedCar(str(exc)) from None
        if not ok:
            raise BlockMismatch(cid)
        return CarBlock(cid, data)

    def __aiter__(self) -> CarReader:
        return self

    async def __anext__(self) -> CarBlock:
        block = await self.next_block()
        if block is None:
            raise StopAsyncIteration
        return block

