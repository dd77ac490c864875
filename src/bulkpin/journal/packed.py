"""How the journal stores CIDs, job and pin ids and dates: packed when exact.

A million-file journal is mostly CIDs, ids and dates spelt out as text. Each
is stored as its binary form only when unpacking gives back the very same
text (``Qm...`` CIDv0 in base58btc, ``b...`` CIDv1 in base32, lower-case
UUIDs); anything else is stored as the text it came as. SQLite keeps either
type in any column, and a BLOB never equals a TEXT, so a lookup packs its key
the same way and finds the row whichever way it was stored.
"""

from __future__ import annotations

import base64
import functools
import re
from datetime import UTC, datetime, timedelta

from ..unixfs.node import b58decode, cid_to_str

__all__ = [
    "pack_cid", "pack_date", "pack_id", "pack_moment", "unpack_cid", "unpack_date", "unpack_id",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: A CIDv0 is a sha2-256 multihash: these two bytes, then the 32-byte digest.
_V0_PREFIX = b"\x12\x20"
_V0_LEN = 34


# A file's CID is packed for each of its few journal writes and lookups, one
# after the other: a small cache spares the base58 arithmetic of the repeats.
@functools.lru_cache(maxsize=4096)
def pack_cid(cid: str) -> bytes | str:
    """The CID's binary form if it unpacks to ``cid`` exactly, else ``cid``."""
    if len(cid) == 46 and cid.startswith("Qm"):
        raw = _v0_bytes(cid)
    elif cid.startswith("b") and cid[1:].islower():
        raw = _v1_bytes(cid)
    else:
        raw = None
    return cid if raw is None else raw


def _v0_bytes(cid: str) -> bytes | None:
    try:
        raw = b58decode(cid)
    except ValueError:
        return None
    # No leading '1' (zero bytes) and a multihash prefix: base58 spells these
    # 34 bytes one way only, so the text comes back exactly.
    return raw if len(raw) == _V0_LEN and raw.startswith(_V0_PREFIX) else None


def _v1_bytes(cid: str) -> bytes | None:
    body = cid[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:
        return None
    # A CIDv1 starts with its version byte (v0 is never spelt in base32); base32
    # has spellings that decode alike, so only one that comes back is packed.
    return raw if raw and raw[0] == 1 and cid_to_str(raw) == cid else None


@functools.lru_cache(maxsize=4096)
def unpack_cid(value: bytes | str) -> str:
    """The CID's text, as it was given to :func:`pack_cid`."""
    return value if isinstance(value, str) else cid_to_str(value)


#: A UUID as ``str(uuid.UUID(...))`` spells it: only this form packs.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def pack_id(text: str) -> bytes | str:
    """A job or pin id: 16 bytes if it is a lower-case UUID, else the text."""
    return bytes.fromhex(text.replace("-", "")) if _UUID.match(text) else text


def unpack_id(value: bytes | str) -> str:
    """The id's text, as it was given to :func:`pack_id`."""
    if isinstance(value, str):
        return value
    h = value.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def pack_date(text: str | None) -> int | str | None:
    """An ISO date: microseconds since 1970 if it is spelt as UTC ``isoformat()`` spells it."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.tzinfo is None:
        return text
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return micros if unpack_date(micros) == text else text


_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)


def pack_moment(when: datetime | None) -> int | str | None:
    """``pack_date(when.isoformat())``, without spelling the date out and reading it back.

    A UTC ``isoformat()`` always comes back from its microseconds, so only
    other offsets (and naive dates) are kept as text. A listing of the account
    packs a date per pin.
    """
    if when is None:
        return None
    if when.utcoffset() == _ZERO:
        return (when - _EPOCH) // _MICROSECOND
    return when.isoformat()


def unpack_date(value: int | str | None) -> str | None:
    """The date's text, as it was given to :func:`pack_date`."""
    if value is None or isinstance(value, str):
        return value
    return (_EPOCH + timedelta(microseconds=value)).isoformat()
