"""The incremental file importer: bytes in, ``(cid, size)`` out.

Feed a file's bytes in any split with :meth:`FileBuilder.update` and call
:meth:`FileBuilder.finish`; memory holds one partial chunk plus the balanced
layout's pending links, whatever the file size. The upload path feeds it while
streaming a file and the local service feeds it while receiving one, so both
sides compute the CID in the same single pass over the bytes.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import FileIO

from .chunker import FixedSizeChunker
from .layout import BalancedLayout
from .node import (
    DAG_PB,
    RAW,
    TYPE_FILE,
    Link,
    cid_from_digest,
    cid_to_str,
    encode_node,
    file_leaf_frame,
    unixfs_data,
)
from .profiles import DEFAULT_PROFILE, CidProfile

#: Bytes asked of the OS per read: a multiple of every standard chunk size, so
#: chunks are sliced out of the read buffer without copying.
READ_SIZE = 4 * 1024 * 1024
#: The smallest read buffer :func:`hash_file` uses.
_MIN_READ = 64 * 1024
#: Read buffers start on a cache line: on this project's AMD EPYC hosts the
#: kernel's copy from the (page-aligned) page cache into a buffer 16 bytes past
#: a line, where glibc puts a fresh large bytearray's bytes, ran at 0.69 s/GiB
#: against 0.13 s/GiB aligned, the price of a second sha256 thread.
_ALIGN = 64


@dataclass(frozen=True, slots=True)
class FileResult:
    """The root of an imported file.

    ``size`` is the number of file bytes; ``tsize`` the cumulative DAG size a
    parent directory records for it.
    """

    cid_bytes: bytes
    size: int
    tsize: int
    #: The text form, when the caller already has it (base58 is slow to redo).
    text: str | None = field(default=None, compare=False, repr=False)

    @property
    def cid(self) -> str:
        """The CID in its usual text form (``Qm...`` or ``bafy...``)."""
        return self.text if self.text is not None else cid_to_str(self.cid_bytes)

    def link(self) -> Link:
        """This file as a child link of a directory."""
        return Link(self.cid_bytes, self.tsize, self.size)


class FileBuilder:
    """Compute a file's UnixFS CID from its bytes, fed incrementally."""

    __slots__ = ("_chunker", "_finished", "_layout", "_on_node", "_profile", "_size")

    def __init__(
        self,
        profile: CidProfile = DEFAULT_PROFILE,
        *,
        on_node: Callable[[bytes, bytes], None] | None = None,
    ) -> None:
        """``on_node(cid, block)`` sees every internal node as it is written.

        Leaves are not passed to it: handing them out would mean copying each
        chunk into a block, the one cost this builder is designed to avoid.
        """
        self._profile = profile
        self._on_node = on_node
        self._chunker = FixedSizeChunker(profile.chunk_size)
        self._layout = BalancedLayout(profile.max_links, self._make_parent)
        self._size = 0
        self._finished = False

    @property
    def profile(self) -> CidProfile:
        """The profile this builder follows."""
        return self._profile

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next bytes of the file."""
        if self._finished:
            raise RuntimeError("FileBuilder.update() after finish()")
        self._size += len(data) if not isinstance(data, memoryview) else data.nbytes
        for chunk in self._chunker.feed(data):
            self._layout.add_leaf(leaf_link(self._profile, chunk))

    def add_leaves(self, leaves: Sequence[Link]) -> None:
        """Append leaves computed elsewhere with :func:`leaf_links`, in file order.

        This lets several threads hash different parts of one file at once
        while the layout, which must see leaves in order, stays here. Only
        whole chunks can be added, so nothing may be buffered from ``update``.
        """
        if self._finished:
            raise RuntimeError("FileBuilder.add_leaves() after finish()")
        if self._chunker.buffered:
            raise RuntimeError("FileBuilder.add_leaves() after update() left a partial chunk")
        for leaf in leaves:
            self._layout.add_leaf(leaf)
            self._size += leaf.filesize
        if leaves:
            self._chunker.skip()

    def finish(self) -> FileResult:
        """Close the file and return its root; the builder cannot be fed again."""
        if self._finished:
            raise RuntimeError("FileBuilder.finish() called twice")
        self._finished = True
        for chunk in self._chunker.finish():
            self._layout.add_leaf(leaf_link(self._profile, chunk))
        root = self._layout.finish()
        return FileResult(root.cid, self._size, root.tsize)

    def _make_parent(self, children: Sequence[Link]) -> Link:
        filesize = sum(c.filesize for c in children)
        data = unixfs_data(
            TYPE_FILE, filesize=filesize, blocksizes=[c.filesize for c in children]
        )
        block = encode_node(data, ((c.cid, b"", c.tsize) for c in children))
        digest = hashlib.sha256(block).digest()
        cid = cid_from_digest(self._profile.cid_version, DAG_PB, digest)
        if self._on_node is not None:
            self._on_node(cid, block)
        return Link(cid, len(block) + sum(c.tsize for c in children), filesize)


def leaf_link(profile: CidProfile, chunk: memoryview) -> Link:
    """The link to one leaf (a chunk of file bytes) of ``profile``'s DAG."""
    n = chunk.nbytes
    if profile.raw_leaves:
        digest = hashlib.sha256(chunk).digest()
        return Link(cid_from_digest(1, RAW, digest), n, n)
    prefix, suffix = file_leaf_frame(n)
    h = hashlib.sha256(prefix)
    h.update(chunk)
    h.update(suffix)
    cid = cid_from_digest(profile.cid_version, DAG_PB, h.digest())
    return Link(cid, len(prefix) + n + len(suffix), n)


def leaf_links(profile: CidProfile, data: bytes | bytearray | memoryview) -> list[Link]:
    """The leaves of whole chunks of a file, for :meth:`FileBuilder.add_leaves`.

    Pure and thread-safe; ``data`` must be a whole number of chunks.
    """
    view = memoryview(data).cast("B")
    size = profile.chunk_size
    if len(view) % size:
        raise ValueError(f"{len(view)} bytes is not a whole number of {size}-byte chunks")
    return [leaf_link(profile, view[start : start + size]) for start in range(0, len(view), size)]


@functools.lru_cache(maxsize=4096)
def file_tsize(size: int, profile: CidProfile = DEFAULT_PROFILE) -> int:
    """The cumulative DAG size of any file of ``size`` bytes, without its bytes.

    The shape of a balanced DAG, and the length of every block in it, depend on
    the file's size and the profile alone (CIDs of one version have one
    length), so a directory can link a file known only by CID and size, as the
    push pipeline does for files it hashed while uploading. Cached: a tree
    of many small files has few distinct sizes, and a re-run asks for each.
    """
    # Placeholder CIDs of the right length: only lengths reach the block sizes.
    fake = bytes(34 if profile.cid_version == 0 else 36)
    raw_leaf = bytes(36)  # raw leaves are always CIDv1

    def leaf(n: int) -> Link:
        if profile.raw_leaves:
            return Link(raw_leaf, n, n)
        prefix, suffix = file_leaf_frame(n)
        return Link(fake, len(prefix) + n + len(suffix), n)

    def parent(children: Sequence[Link]) -> Link:
        filesize = sum(c.filesize for c in children)
        data = unixfs_data(TYPE_FILE, filesize=filesize, blocksizes=[c.filesize for c in children])
        block_len = len(encode_node(data, ((c.cid, b"", c.tsize) for c in children)))
        return Link(fake, block_len + sum(c.tsize for c in children), filesize)

    layout = BalancedLayout(profile.max_links, parent)
    full, rest = divmod(size, profile.chunk_size)
    full_leaf = leaf(profile.chunk_size) if full else None
    for _ in range(full):
        assert full_leaf is not None
        layout.add_leaf(full_leaf)
    if rest or not full:
        layout.add_leaf(leaf(rest))
    return layout.finish().tsize


def hash_bytes(
    data: bytes | bytearray | memoryview, profile: CidProfile = DEFAULT_PROFILE
) -> FileResult:
    """CID of an in-memory byte string."""
    builder = FileBuilder(profile)
    builder.update(data)
    return builder.finish()


def aligned_buffer(size: int) -> memoryview:
    """A writable ``size``-byte buffer whose first byte starts a cache line."""
    raw = bytearray(size + _ALIGN)
    start = -ctypes.addressof(ctypes.c_char.from_buffer(raw)) % _ALIGN
    return memoryview(raw)[start : start + size]


def read_buffer(file_size: int, read_size: int = READ_SIZE) -> memoryview:
    """A buffer to read a file of ``file_size`` bytes through, ``read_size`` at most.

    No bigger than the file needs (plus a byte, to see it end or grow): a
    full-size buffer per small file is a zero-filled mapping to fault in each
    time, and on a tree of tiny files those page faults were most of the CPU.
    The floor keeps pipes and /proc files (size 0) from 1-byte reads. Aligned
    (:func:`aligned_buffer`), for the kernel's copy into it.
    """
    return aligned_buffer(min(read_size, max(file_size + 1, _MIN_READ)))


def hash_file(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    profile: CidProfile = DEFAULT_PROFILE,
    read_size: int = READ_SIZE,
    *,
    on_node: Callable[[bytes, bytes], None] | None = None,
) -> FileResult:
    """CID of a file on disk, read once in ``read_size`` pieces.

    Blocking: call it from a worker thread. hashlib and file reads release the
    GIL on large buffers, so several threads hash in parallel. ``on_node`` is
    :class:`FileBuilder`'s.
    """
    with open(path, "rb", buffering=0) as f:
        return hash_open_file(
            f, os.fstat(f.fileno()).st_size, profile, read_size, on_node=on_node
        )


def hash_open_file(
    f: FileIO,
    size_hint: int,
    profile: CidProfile = DEFAULT_PROFILE,
    read_size: int = READ_SIZE,
    *,
    on_node: Callable[[bytes, bytes], None] | None = None,
) -> FileResult:
    """CID of an open file read from where it stands to its end, on this thread.

    ``size_hint`` (its ``fstat`` size) only sizes the read buffer.
    """
    builder = FileBuilder(profile, on_node=on_node)
    buf = read_buffer(size_hint, read_size)
    view = memoryview(buf)
    while n := f.readinto(buf):
        builder.update(view[:n])
    return builder.finish()
