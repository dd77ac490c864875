"""UnixFS directories exactly as ``ipfs add -r`` builds them.

A directory is a dag-pb node of type Directory whose links are sorted by name
bytes, each carrying the child's cumulative size. When its estimated size
passes the profile's threshold (kubo's ``HAMTShardingSize``) it is written as a
HAMT-sharded directory instead (:mod:`.hamt`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .hamt import build_hamt
from .node import (
    DAG_PB,
    EMPTY_DIRECTORY_DATA,
    Link,
    cid_from_digest,
    cid_to_str,
    encode_node,
    encoded_link_len,
    symlink_block,
)
from .profiles import DEFAULT_PROFILE, CidProfile

# Bytes the Data field of a plain directory adds to its node (0a 02 08 01).
_DIRECTORY_DATA_FIELD_LEN = 2 + len(EMPTY_DIRECTORY_DATA)


@dataclass(frozen=True, slots=True)
class DirectoryResult:
    """The root of an imported directory."""

    cid_bytes: bytes
    tsize: int
    sharded: bool

    @property
    def cid(self) -> str:
        """The CID in its usual text form."""
        return cid_to_str(self.cid_bytes)

    def link(self) -> Link:
        """This directory as a child link of its parent."""
        return Link(self.cid_bytes, self.tsize, 0)


class DirectoryBuilder:
    """Collect a directory's children in any order, then encode it."""

    __slots__ = ("_entries", "_names", "_profile")

    def __init__(self, profile: CidProfile = DEFAULT_PROFILE) -> None:
        self._profile = profile
        self._entries: list[tuple[bytes, Link]] = []
        self._names: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, name: bytes, child: Link) -> None:
        """Add a child under ``name`` (raw bytes: names need not be UTF-8)."""
        if not name or b"/" in name:
            raise ValueError(f"invalid directory entry name {name!r}")
        if name in self._names:
            raise ValueError(f"duplicate directory entry {name!r}")
        self._names.add(name)
        self._entries.append((name, child))

    def estimated_size(self) -> int:
        """The size kubo compares with the sharding threshold, per the profile."""
        if self._profile.size_estimation == "links":
            return sum(len(name) + len(link.cid) for name, link in self._entries)
        return _DIRECTORY_DATA_FIELD_LEN + sum(
            encoded_link_len(len(link.cid), len(name), link.tsize)
            for name, link in self._entries
        )

    def finish(self) -> DirectoryResult:
        """Encode the directory (plain or sharded) and return its root."""
        profile = self._profile
        if self.estimated_size() > profile.hamt_threshold:
            root = build_hamt(self._entries, profile.hamt_fanout, profile.cid_version)
            return DirectoryResult(root.cid, root.tsize, sharded=True)
        entries = sorted(self._entries, key=lambda e: e[0])
        block = encode_node(
            EMPTY_DIRECTORY_DATA, ((link.cid, name, link.tsize) for name, link in entries)
        )
        cid = cid_from_digest(profile.cid_version, DAG_PB, hashlib.sha256(block).digest())
        tsize = len(block) + sum(link.tsize for _, link in entries)
        return DirectoryResult(cid, tsize, sharded=False)


def symlink_link(target: bytes, profile: CidProfile = DEFAULT_PROFILE) -> Link:
    """A UnixFS symlink node for ``target``, as a child link (kubo stores, never follows)."""
    block = symlink_block(target)
    cid = cid_from_digest(profile.cid_version, DAG_PB, hashlib.sha256(block).digest())
    return Link(cid, len(block), 0)
