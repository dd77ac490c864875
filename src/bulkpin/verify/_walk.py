"""The depth-first walk of a DAG whose blocks arrive in a stream.

Holds CIDs, never block data: the stack of children still to visit, the
CIDs already visited (a repeated block, which a ``dups=n`` CAR sends once,
is proven once), and the links of blocks that came before their turn (a
CAR with a block left out, or in another order).
"""

from __future__ import annotations

__all__ = ["DagWalk"]


class DagWalk:
    """Feed each checked block with :meth:`arrived`; :attr:`next` is the block awaited."""

    def __init__(self, root: bytes) -> None:
        self.root = root
        self._stack = [root]
        self._visited: set[bytes] = set()
        self._early: dict[bytes, tuple[bytes, ...]] = {}

    @property
    def next(self) -> bytes | None:
        """The first block of the walk not yet seen, or None when the walk is done."""
        self._drain()
        return self._stack[-1] if self._stack else None

    @property
    def visited(self) -> int:
        """How many distinct blocks the walk has passed."""
        return len(self._visited)

    def arrived(self, cid: bytes, links: tuple[bytes, ...]) -> None:
        """A block and its children, in whatever order blocks come."""
        if cid in self._visited:
            return
        if self._stack and self._stack[-1] == cid:
            self._visit(links)
        else:
            self._early[cid] = links

    def skip(self) -> bytes:
        """Give up on the awaited block (not to be had): its CID."""
        cid = self.next
        assert cid is not None
        self._stack.pop()
        self._visited.add(cid)
        return cid

    def _visit(self, links: tuple[bytes, ...]) -> None:
        cid = self._stack.pop()
        self._visited.add(cid)
        self._stack.extend(c for c in reversed(links) if c not in self._visited)

    def _drain(self) -> None:
        while self._stack:
            top = self._stack[-1]
            if top in self._visited:
                self._stack.pop()
            elif top in self._early:
                self._visit(self._early.pop(top))
            else:
                return
