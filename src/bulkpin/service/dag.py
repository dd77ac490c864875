"""A stored file's DAG blocks, rebuilt from its bytes for the trustless gateway.

The store keeps each pinned file's bytes, not its blocks (:mod:`.blobs`). A
file's DAG is a pure function of its bytes and the CID profile it was pinned
with, so the blocks are rebuilt rather than stored: one pass of the CID
engine over the blob (:func:`~bulkpin.unixfs.file_builder.hash_file`, the same
code that verified the upload) yields every internal node; leaves are slices
of the blob at fixed offsets, re-framed on demand. The rebuilt root must equal
the CID asked for, so a block served is one the CID proves; a blob damaged on
disk is served as it is (see :func:`rebuild`), for a verifier to catch.

Only internal nodes are kept (:class:`FileDag`), about 1/5000 of the file for
``unixfs-v0-2015`` and far less for ``unixfs-v1-2025``, plus each leaf's
CID; leaf bytes are read with ``pread`` when sent, so a multi-GB file's CAR
is never held. :class:`DagCache` keeps recent DAGs within a byte budget,
which also lets a raw-block request for a non-root block find its file.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from ..unixfs import CidProfile
from ..unixfs.file_builder import hash_file
from ..unixfs.node import decode_node, file_leaf_frame

__all__ = ["DagCache", "FileDag", "rebuild"]

#: Bytes of rebuilt DAGs kept (internal nodes and leaf indexes).
CACHE_BYTES = 64 * 1024 * 1024
#: What one leaf's entry in :attr:`FileDag.leaves` costs, roughly, in a dict.
_LEAF_COST = 160


@dataclass(frozen=True)
class FileDag:
    """One stored file's DAG: its internal nodes kept, its leaves found in the blob."""

    root: bytes
    profile: CidProfile
    path: Path
    size: int
    #: Internal node CID -> its block.
    nodes: dict[bytes, bytes]
    #: Leaf CID -> the index of a chunk holding it (the first, for repeated chunks).
    leaves: dict[bytes, int] = field(default_factory=dict)

    @property
    def cost(self) -> int:
        """Approximate bytes this DAG holds in memory."""
        return sum(len(b) + 100 for b in self.nodes.values()) + _LEAF_COST * len(self.leaves)

    def children(self, cid: bytes) -> tuple[bytes, ...]:
        """The links of an internal node (none for a leaf)."""
        block = self.nodes.get(cid)
        return () if block is None else tuple(link.cid for link in decode_node(block).links)

    def dfs(self, *, dups: bool, start: bytes | None = None) -> Iterator[tuple[bytes, int | None]]:
        """``(cid, leaf index or None)`` for every block below ``start`` (the root), depth first.

        ``dups=False`` leaves out blocks already given (CAR ``dups=n``), and
        with a repeated node its whole subtree, which was given with it.
        """
        seen: set[bytes] = set()
        stack = [self.root if start is None else start]
        while stack:
            cid = stack.pop()
            if not dups:
                if cid in seen:
                    continue
                seen.add(cid)
            yield cid, None if cid in self.nodes else self.leaves[cid]
            stack.extend(reversed(self.children(cid)))

    def _index_leaves(self) -> None:
        """Number the leaves in file order (depth-first order is file order)."""
        stack, leaf = [self.root], 0
        while stack:
            cid = stack.pop()
            if cid in self.nodes:
                stack.extend(reversed(self.children(cid)))
            else:
                self.leaves.setdefault(cid, leaf)
                leaf += 1

    def leaf_block(self, index: int) -> bytes:
        """The block of leaf ``index``, read from the blob (blocking)."""
        chunk = self.profile.chunk_size
        offset = index * chunk
        length = max(0, min(chunk, self.size - offset))
        fd = os.open(self.path, os.O_RDONLY)
        try:
            data = os.pread(fd, length, offset)
        finally:
            os.close(fd)
        if len(data) != length:
            raise OSError(f"{self.path}: shorter than its pin")
        if self.profile.raw_leaves:
            return data
        prefix, suffix = file_leaf_frame(length)
        return prefix + data + suffix

    def block(self, cid: bytes) -> bytes | None:
        """Any block of this DAG by CID, or None (blocking for leaves)."""
        node = self.nodes.get(cid)
        if node is not None:
            return node
        index = self.leaves.get(cid)
        return None if index is None else self.leaf_block(index)


def rebuild(path: Path, root: bytes, profiles: Sequence[CidProfile]) -> FileDag | None:
    """The DAG of the blob at ``path`` under the first profile whose root is ``root``.

    Blocking: a full pass of the CID engine per profile tried. If none
    rebuilds ``root``, the blob is damaged: its DAG under the first profile,
    its root block named ``root`` (None only with no profile).
    """
    size = path.stat().st_size
    for profile in profiles:
        nodes: dict[bytes, bytes] = {}
        result = hash_file(path, profile, on_node=nodes.__setitem__)
        if result.cid_bytes != root:
            continue
        dag = FileDag(root, profile, path, size, nodes)
        dag._index_leaves()
        return dag
    if not profiles:
        return None
    # Uploads are verified under a named profile, the first of ``profiles``:
    # bytes that no longer rebuild ``root`` were damaged on disk. Served under
    # their CID as a block store without hash-on-read would serve them, so a
    # verifier sees the damage rather than a 404 that hides it.
    nodes = {}
    damaged = hash_file(path, profiles[0], on_node=nodes.__setitem__).cid_bytes
    if damaged in nodes:
        nodes[root] = nodes.pop(damaged)
    dag = FileDag(root, profiles[0], path, size, nodes)
    dag._index_leaves()
    return dag


class DagCache:
    """Recently rebuilt DAGs, least recently used dropped first past ``budget`` bytes."""

    def __init__(self, budget: int = CACHE_BYTES) -> None:
        self._budget = budget
        self._dags: OrderedDict[bytes, FileDag] = OrderedDict()
        self._building: dict[bytes, asyncio.Future[FileDag | None]] = {}

    def find(self, cid: bytes) -> FileDag | None:
        """A cached DAG holding the block ``cid`` (as root or inside), or None."""
        dag = self._dags.get(cid)
        if dag is not None:
            self._dags.move_to_end(cid)
            return dag
        for dag in reversed(self._dags.values()):
            if cid in dag.nodes or cid in dag.leaves:
                return dag
        return None

    async def get(
        self, root: bytes, path: Path, profiles: Sequence[CidProfile], executor: Executor | None
    ) -> FileDag | None:
        """The DAG of a stored file, rebuilt on a thread unless cached.

        Concurrent requests for one file share one rebuild.
        """
        dag = self._dags.get(root)
        if dag is not None:
            self._dags.move_to_end(root)
            return dag
        pending = self._building.get(root)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, rebuild, path, root, profiles)
        self._building[root] = future
        try:
            dag = await asyncio.shield(future)
        finally:
            self._building.pop(root, None)
        if dag is not None:
            self._keep(dag)
        return dag

    def _keep(self, dag: FileDag) -> None:
        self._dags[dag.root] = dag
        total = sum(d.cost for d in self._dags.values())
        # The newest stays even alone over budget: it is being served now.
        while total > self._budget and len(self._dags) > 1:
            _, dropped = self._dags.popitem(last=False)
            total -= dropped.cost
