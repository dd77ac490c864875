"""dag-pb and UnixFS node encoding, byte-exact with go-codec-dagpb and kubo.

A dag-pb node is the protobuf ``PBNode { repeated PBLink Links = 2; bytes Data = 1; }``
written in the canonical order: every link first, then the data. A link is
``PBLink { bytes Hash = 1; string Name = 2; uint64 Tsize = 3; }``; kubo always
writes Name, even when empty (file links), so we do too. The UnixFS payload
inside Data is ``{Type = 1; Data = 2; filesize = 3; repeated blocksizes = 4;
hashType = 5; fanout = 6}``.

CIDs are handled here as their binary form (what links carry); text forms are
made once, by :func:`cid_to_str`, when a result leaves the engine.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

DAG_PB: Final = 0x70
RAW: Final = 0x55
_SHA2_256_PREFIX: Final = b"\x12\x20"  # multihash: sha2-256, 32-byte digest

# UnixFS Data.DataType values.
TYPE_RAW: Final = 0
TYPE_DIRECTORY: Final = 1
TYPE_FILE: Final = 2
TYPE_METADATA: Final = 3
TYPE_SYMLINK: Final = 4
TYPE_HAMT_SHARD: Final = 5

#: multicodec murmur3-x64-64, the hash kubo's HAMT directories declare.
HAMT_HASH_MURMUR3: Final = 0x22


def varint(n: int) -> bytes:
    """Unsigned LEB128, as protobuf and multiformats use."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def varint_len(n: int) -> int:
    """Length in bytes of :func:`varint` of ``n``, without building it."""
    return max(1, (n.bit_length() + 6) // 7)


def _bytes_field(tag: int, value: bytes) -> bytes:
    return bytes((tag,)) + varint(len(value)) + value


def make_cid(version: int, codec: int, block: bytes | Iterable[bytes | memoryview]) -> bytes:
    """Binary CID (sha2-256) of a block given whole or as consecutive pieces."""
    h = hashlib.sha256()
    if isinstance(block, bytes):
        h.update(block)
    else:
        for piece in block:
            h.update(piece)
    return cid_from_digest(version, codec, h.digest())


def cid_from_digest(version: int, codec: int, digest: bytes) -> bytes:
    """Binary CID of a block whose sha2-256 digest is already known."""
    if version == 0:
        if codec != DAG_PB:
            raise ValueError("CIDv0 can only name dag-pb blocks")
        return _SHA2_256_PREFIX + digest
    return b"\x01" + varint(codec) + _SHA2_256_PREFIX + digest


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


#: Every pair of base58 digits, by its value: a no-op re-run spells a CID per
#: file, and two digits per division halve the slow big-integer steps.
_B58_PAIRS = [a + b for a in _B58 for b in _B58]


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 3364)  # 58 ** 2
        out.append(_B58_PAIRS[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    # The top pair may start with a zero digit ('1') the number does not have.
    return "1" * pad + "".join(reversed(out)).lstrip("1")


def b58decode(text: str) -> bytes:
    """Bytes of base58btc ``text`` (raises ``ValueError`` on a character outside it)."""
    n = 0
    for c in text:
        i = _B58_INDEX.get(c)
        if i is None:
            raise ValueError(f"{c!r} is not a base58btc character")
        n = n * 58 + i
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + n.to_bytes((n.bit_length() + 7) // 8, "big")


def cid_to_str(cid: bytes) -> str:
    """Text form: base58btc for CIDv0 (``Qm...``), multibase base32 for CIDv1 (``bafy...``).

    Written out here rather than through multiformats, whose runtime type
    checks cost more than hashing a small file: this runs once per file.
    """
    if cid[:2] == _SHA2_256_PREFIX and len(cid) == 34:
        return _b58encode(cid)
    return "b" + base64.b32encode(cid).decode("ascii").rstrip("=").lower()


def cid_from_str(text: str) -> bytes:
    """Binary form of a CID in text (raises ``ValueError`` if it is not one)."""
    try:
        if len(text) == 46 and text.startswith("Qm"):
            raw = b58decode(text)
            if len(raw) == 34 and raw[:2] == _SHA2_256_PREFIX:
                return raw
        elif text.startswith("b") and text[1:].islower():
            body = text[1:].upper()
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
            if _is_common_cid_v1(raw):
                return raw
        # Any other multibase or CID form: the general decoder, imported only
        # now because it is heavy (runtime type checks, every codec table).
        from multiformats import CID  # noqa: PLC0415

        return bytes(CID.decode(text))
    except Exception as exc:  # multiformats raises several unrelated types
        raise ValueError(f"not a CID: {text[:80]!r}") from exc


def _is_common_cid_v1(raw: bytes) -> bool:
    """Whether ``raw`` is a CIDv1 of raw or dag-pb content with a sha2-256 multihash.

    That is every CID bulkpin makes; anything else (another codec or hash,
    a malformed one) is left to multiformats, which knows the codec tables.
    """
    return len(raw) == 36 and raw[0] == 1 and raw[1] in (RAW, DAG_PB) and raw[2:4] == b"\x12\x20"


#: Multihash codes :func:`block_matches` can check.
IDENTITY: Final = 0x00
SHA2_256: Final = 0x12
SHA2_512: Final = 0x13


@dataclass(frozen=True, slots=True)
class CidParts:
    """A binary CID split into its fields."""

    version: int
    codec: int
    #: The multihash's function code (:data:`SHA2_256`, :data:`IDENTITY`...).
    hash_code: int
    digest: bytes


def parse_cid(raw: bytes) -> CidParts:
    """Split a binary CID (raises ``ValueError`` if it is not exactly one CID)."""
    if len(raw) == 34 and raw[:2] == _SHA2_256_PREFIX:
        return CidParts(0, DAG_PB, SHA2_256, raw[2:])
    version, pos = read_varint(raw, 0)
    if version != 1:
        raise ValueError(f"CID version {version} is not supported")
    codec, pos = read_varint(raw, pos)
    code, pos = read_varint(raw, pos)
    length, pos = read_varint(raw, pos)
    if len(raw) - pos != length:
        raise ValueError("the CID's multihash length does not match its digest")
    return CidParts(1, codec, code, raw[pos:])


def cid_length(buf: bytes | bytearray | memoryview) -> int:
    """How many bytes at the start of ``buf`` are one binary CID (``ValueError`` if none)."""
    head = bytes(buf[:2])
    if head == _SHA2_256_PREFIX:
        return 34
    data = bytes(buf[:40])  # version, codec, code and length fit easily
    pos = 0
    for _ in range(3):
        _, pos = read_varint(data, pos)
    length, pos = read_varint(data, pos)
    return pos + length


def block_matches(cid: bytes | CidParts, block: bytes | bytearray | memoryview) -> bool:
    """Whether ``block`` hashes to ``cid``'s multihash (``ValueError``: a hash we lack)."""
    parts = cid if isinstance(cid, CidParts) else parse_cid(cid)
    if parts.hash_code == SHA2_256:
        return hashlib.sha256(block).digest() == parts.digest
    if parts.hash_code == SHA2_512:
        return hashlib.sha512(block).digest() == parts.digest
    if parts.hash_code == IDENTITY:
        return bytes(block) == parts.digest
    raise ValueError(f"multihash 0x{parts.hash_code:x} is not supported")


@dataclass(frozen=True, slots=True)
class Link:
    """A child as its parent sees it.

    ``tsize`` is the cumulative size of the child's DAG (its block plus every
    block below it), which dag-pb links record; ``filesize`` is the number of
    file bytes under it, which UnixFS ``blocksizes`` record.
    """

    cid: bytes
    tsize: int
    filesize: int = 0


def encode_link(cid: bytes, name: bytes, tsize: int) -> bytes:
    """One ``PBLink`` wrapped as field 2 of the ``PBNode``."""
    body = _bytes_field(0x0A, cid) + _bytes_field(0x12, name) + b"\x18" + varint(tsize)
    return _bytes_field(0x12, body)


def encoded_link_len(cid_len: int, name_len: int, tsize: int) -> int:
    """Serialized size of :func:`encode_link` without building it."""
    body = (
        1 + varint_len(cid_len) + cid_len
        + 1 + varint_len(name_len) + name_len
        + 1 + varint_len(tsize)
    )
    return 1 + varint_len(body) + body


def encode_node(data: bytes, links: Iterable[tuple[bytes, bytes, int]]) -> bytes:
    """A ``PBNode``: the links ``(cid, name, tsize)`` in the order given, then Data."""
    parts = [encode_link(cid, name, tsize) for cid, name, tsize in links]
    parts.append(_bytes_field(0x0A, data))
    return b"".join(parts)


def unixfs_data(
    kind: int,
    *,
    data: bytes | None = None,
    filesize: int | None = None,
    blocksizes: Sequence[int] = (),
    hash_type: int | None = None,
    fanout: int | None = None,
) -> bytes:
    """A UnixFS ``Data`` message with the fields in protobuf order."""
    out = bytearray(b"\x08")
    out += varint(kind)
    if data:
        out += _bytes_field(0x12, data)
    if filesize is not None:
        out += b"\x18" + varint(filesize)
    for size in blocksizes:
        out += b"\x20" + varint(size)
    if hash_type is not None:
        out += b"\x28" + varint(hash_type)
    if fanout is not None:
        out += b"\x30" + varint(fanout)
    return bytes(out)


def file_leaf_frame(length: int) -> tuple[bytes, bytes]:
    """The bytes around a chunk of ``length`` bytes in a dag-pb UnixFS leaf.

    A leaf is ``PBNode{Data: UnixFS{Type: File, Data: chunk, filesize: len}}``.
    Returning only the frame lets the caller hash ``prefix + chunk + suffix``
    without copying the chunk, which is most of the engine's work.
    """
    suffix = b"\x18" + varint(length)
    # go-unixfs omits an empty Data field: the empty file is 0a 04 08 02 18 00.
    inner_prefix = b"\x08\x02\x12" + varint(length) if length else b"\x08\x02"
    inner_len = len(inner_prefix) + length + len(suffix)
    return b"\x0a" + varint(inner_len) + inner_prefix, suffix


EMPTY_DIRECTORY_DATA: Final = unixfs_data(TYPE_DIRECTORY)


def symlink_block(target: bytes) -> bytes:
    """The dag-pb block of a UnixFS symlink pointing at ``target``."""
    return encode_node(unixfs_data(TYPE_SYMLINK, data=target), ())


# --- decoding: for verification, tests and tools; the importer never decodes ---


@dataclass(frozen=True, slots=True)
class DecodedLink:
    """A link as read back from a block."""

    cid: bytes
    name: bytes
    tsize: int


@dataclass(frozen=True, slots=True)
class DecodedNode:
    """A dag-pb node as read back, with its UnixFS payload split out."""

    links: tuple[DecodedLink, ...]
    kind: int
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]
    hash_type: int | None
    fanout: int | None


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the unsigned LEB128 at ``buf[pos:]``; ``ValueError`` if cut."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or oversized varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterable[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            yield field, wire, value
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated length-delimited field")
            yield field, wire, buf[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _decode_link(buf: bytes) -> DecodedLink:
    cid, name, tsize = b"", b"", 0
    for field, _, value in _fields(buf):
        if field == 1 and isinstance(value, bytes):
            cid = value
        elif field == 2 and isinstance(value, bytes):
            name = value
        elif field == 3 and isinstance(value, int):
            tsize = value
    return DecodedLink(cid, name, tsize)


def decode_node(block: bytes) -> DecodedNode:
    """Parse a dag-pb block holding UnixFS data (raises ``ValueError`` if malformed)."""
    links: list[DecodedLink] = []
    data = b""
    for field, _, value in _fields(block):
        if field == 2 and isinstance(value, bytes):
            links.append(_decode_link(value))
        elif field == 1 and isinstance(value, bytes):
            data = value
    ints: dict[int, int] = {}
    payload = b""
    blocksizes: list[int] = []
    for field, _, value in _fields(data):
        if field == 2 and isinstance(value, bytes):
            payload = value
        elif field == 4 and isinstance(value, int):
            blocksizes.append(value)
        elif isinstance(value, int):
            ints[field] = value
    return DecodedNode(
        links=tuple(links),
        kind=ints.get(1, -1),
        data=payload,
        filesize=ints.get(3),
        blocksizes=tuple(blocksizes),
        hash_type=ints.get(5),
        fanout=ints.get(6),
    )



def split_block(cid: bytes, block: bytes) -> tuple[tuple[bytes, ...], bytes]:
    """A UnixFS block's child CIDs and the file bytes it holds itself.

    A raw block is all file bytes; a dag-pb node gives its links and its UnixFS
    ``Data`` (empty for directories); other codecs are not UnixFS
    (``ValueError``, as for a malformed node).
    """
    codec = parse_cid(cid).codec
    if codec == RAW:
        return (), block
    if codec != DAG_PB:
        raise ValueError(f"codec 0x{codec:x} is not UnixFS")
    node = decode_node(block)
    data = node.data if node.kind in (TYPE_RAW, TYPE_FILE) else b""
    return tuple(link.cid for link in node.links), data
