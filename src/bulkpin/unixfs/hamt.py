"""HAMT-sharded UnixFS directories, as kubo (go-unixfs ``hamt``) writes them.

Each entry's name is hashed with murmur3 x64 (the first 64 bits, big-endian);
a shard node of fanout 256 takes 8 bits of the hash per level. A slot holding
one entry links to it as ``"%02X" + name``; a slot where several entries land
becomes a sub-shard linked as ``"%02X"``. Built from the full set of entries
(kubo only ever inserts during ``ipfs add``), this structure is canonical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import mmh3

from .node import (
    DAG_PB,
    HAMT_HASH_MURMUR3,
    TYPE_HAMT_SHARD,
    Link,
    cid_from_digest,
    encode_node,
    unixfs_data,
)

_HASH_BITS = 64


def name_hash(name: bytes) -> int:
    """The 64-bit murmur3-x64 hash of a link name, as kubo's shards use it."""
    h1, _ = mmh3.hash64(name, seed=0, x64arch=True, signed=False)
    return int(h1)


def build_hamt(
    entries: Sequence[tuple[bytes, Link]], fanout: int, cid_version: int
) -> Link:
    """Write the shard tree holding ``entries`` (unique names) and return its root."""
    bits = fanout.bit_length() - 1
    if fanout < 2 or 1 << bits != fanout:
        raise ValueError("HAMT fanout must be a power of two")
    hashed = [(name_hash(name), name, link) for name, link in entries]
    return _shard(hashed, 0, bits, cid_version)


def _shard(
    entries: Sequence[tuple[int, bytes, Link]], depth: int, bits: int, cid_version: int
) -> Link:
    shift = _HASH_BITS - bits * (depth + 1)
    if shift < 0:
        # Two names with one 64-bit hash: kubo cannot shard them either.
        raise ValueError("HAMT hash exhausted: colliding entry names")
    mask = (1 << bits) - 1
    slots: dict[int, list[tuple[int, bytes, Link]]] = {}
    for entry in entries:
        slots.setdefault((entry[0] >> shift) & mask, []).append(entry)
    width = len(f"{mask:X}")
    links: list[tuple[bytes, bytes, int]] = []
    bitfield = 0
    for index in sorted(slots):
        bitfield |= 1 << index
        label = f"{index:0{width}X}".encode()
        group = slots[index]
        if len(group) == 1:
            _, name, link = group[0]
            links.append((link.cid, label + name, link.tsize))
        else:
            sub = _shard(group, depth + 1, bits, cid_version)
            links.append((sub.cid, label, sub.tsize))
    data = unixfs_data(
        TYPE_HAMT_SHARD,
        data=bitfield.to_bytes((bitfield.bit_length() + 7) // 8, "big"),
        hash_type=HAMT_HASH_MURMUR3,
        fanout=1 << bits,
    )
    block = encode_node(data, links)
    cid = cid_from_digest(cid_version, DAG_PB, hashlib.sha256(block).digest())
    return Link(cid, len(block) + sum(t for _, _, t in links), 0)
