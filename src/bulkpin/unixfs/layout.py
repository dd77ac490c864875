"""Balanced DAG layout, built incrementally in constant memory.

kubo's balanced builder and js-ipfs-unixfs's ``balanced`` layout produce the
same tree: leaves are grouped left to right into parents of at most
``max_links`` children, those parents are grouped again, and so on until one
node remains; a file of a single leaf is that leaf. Because group boundaries
depend only on position, a group can be closed the moment it fills, so this
layout holds at most ``max_links`` pending links per level: with 174 links and
256 KiB chunks, a 1 TiB file needs four levels, about 700 links.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .node import Link

MakeParent = Callable[[Sequence[Link]], Link]


class BalancedLayout:
    """Accept leaves in file order; :meth:`finish` returns the root."""

    __slots__ = ("_levels", "_make_parent", "_max_links", "_promoted")

    def __init__(self, max_links: int, make_parent: MakeParent) -> None:
        if max_links < 2:
            raise ValueError("max_links must be at least 2")
        self._max_links = max_links
        self._make_parent = make_parent
        # _levels[i]: links at height i not yet grouped; _promoted[i]: how many
        # groups of height i have already been closed into height i + 1.
        self._levels: list[list[Link]] = [[]]
        self._promoted: list[int] = [0]

    def add_leaf(self, leaf: Link) -> None:
        """Append the next leaf of the file."""
        self._push(0, leaf)

    def _push(self, level: int, link: Link) -> None:
        pending = self._levels[level]
        pending.append(link)
        if len(pending) == self._max_links:
            self._close(level)

    def _close(self, level: int) -> None:
        parent = self._make_parent(self._levels[level])
        self._levels[level] = []
        self._promoted[level] += 1
        if level + 1 == len(self._levels):
            self._levels.append([])
            self._promoted.append(0)
        self._push(level + 1, parent)

    def finish(self) -> Link:
        """Close every partial group and return the root link."""
        level = 0
        while True:
            pending = self._levels[level]
            if self._promoted[level] == 0 and len(pending) == 1:
                # The only node at this height, and nothing above it: the root.
                return pending[0]
            if pending:
                self._close(level)
            elif self._promoted[level] == 0:
                raise ValueError("no leaves were added")
            level += 1
