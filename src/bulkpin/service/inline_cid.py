"""CIDs that carry their content: the identity multihash (code 0x00).

Such a CID's "digest" is the block itself, so a ``pinByHash`` of one needs
nothing fetched: the job worker treats it as content already held, instead of
looking for it until ``--fetch-timeout`` and failing. That is so for a raw
block, and for a dag-pb node without links (a small file ``ipfs add --inline``
made); a dag-pb node with links names other blocks, which must still be found.
"""

from __future__ import annotations

import functools

from ..unixfs.node import cid_from_str

_IDENTITY = 0x00
_RAW = 0x55
_DAG_PB = 0x70


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """(value, next offset) of the unsigned LEB128 at ``data[at:]``; ValueError if cut short."""
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """A protobuf message's (field number, value) pairs: varints and length-delimited only."""
    out: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(message):
        key, at = _varint(message, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(message, at)
            out.append((number, value))
        elif wire == 2:
            length, at = _varint(message, at)
            if at + length > len(message):
                raise ValueError("truncated field")
            out.append((number, message[at : at + length]))
            at += length
        else:
            raise ValueError("unexpected wire type")
    return out


def _dag_pb_size(block: bytes) -> int | None:
    """A link-free dag-pb node's file size (UnixFS ``filesize``, else its data's length)."""
    data = b""
    for number, value in _fields(block):
        if number == 2:
            return None  # links: content beyond this CID
        if number == 1 and isinstance(value, bytes):
            data = value
    unixfs = dict(_fields(data)) if data else {}
    filesize, payload = unixfs.get(3), unixfs.get(2, b"")
    if isinstance(filesize, int):
        return filesize
    return len(payload) if isinstance(payload, bytes) else 0


def _identity_block(cid: str) -> tuple[int, bytes] | None:
    """(codec, block) of an identity-hash CIDv1, else None; ValueError if malformed."""
    raw = cid_from_str(cid)
    if raw[:1] != b"\x01":
        return None  # CIDv0 is always sha2-256
    codec, at = _varint(raw, 1)
    code, at = _varint(raw, at)
    if code != _IDENTITY:
        return None
    length, at = _varint(raw, at)
    block = raw[at:]
    return (codec, block) if len(block) == length else None


@functools.lru_cache(maxsize=1024)
def inline_size(cid: str) -> int | None:
    """The size of the content inside ``cid``, or None if it is not all inside."""
    try:
        found = _identity_block(cid)
        if found is None:
            return None
        codec, block = found
        if codec == _RAW:
            return len(block)
        return _dag_pb_size(block) if codec == _DAG_PB else None
    except ValueError:
        return None


__all__ = ["inline_size"]
