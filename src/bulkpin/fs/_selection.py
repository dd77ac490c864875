"""Which files a run takes: glob filters, size bounds and the ``--shard`` share.

A readable file's share is chosen by its content (:mod:`._content_key`), so
every copy of a content is one shard's; anything else's by its path.

Globs are matched against the path below the PATH argument, with ``fnmatch``
rules: a pattern without ``/`` matches a name at any depth (``*.tmp``), one with
``/`` matches the whole relative path (``cache/*``). An exclude pattern that
matches a directory prunes it: its files are never even listed. Excludes win
over includes; with includes given, a file must match one of them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class SelectionError(ValueError):
    """A shard spec or bound that cannot be used."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Take share ``index`` of ``count`` (``--shard I/N``, 0 <= I < N)."""

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """Parse ``"I/N"``."""
        try:
            left, right = spec.split("/")
            index, count = int(left), int(right)
        except ValueError:
            raise SelectionError(f"--shard must look like I/N (e.g. 0/4), not {spec!r}") from None
        if count < 1 or not 0 <= index < count:
            raise SelectionError(f"--shard {spec}: need 0 <= I < N")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def takes(self, rel: bytes) -> bool:
        """Whether this share owns the file at relative path ``rel``.

        A hash of the path, not of the machine or the order of the walk, so N
        machines split one tree into disjoint shares that cover it, with no
        coordination, however each mounts it.
        """
        if self.count == 1:
            return True
        digest = hashlib.sha256(rel).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index


def _matches(patterns: Sequence[str], rel: bytes) -> bool:
    text = os.fsdecode(rel)
    name = text.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(text if "/" in pattern else name, pattern) for pattern in patterns
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """The filters of one run."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None
    shard: Shard | None = None
    #: Leave out files modified less than this many seconds ago (--min-age).
    min_age: float | None = None
    #: Leave out files modified more than this many seconds ago (--max-age).
    max_age: float | None = None
    #: The instant ages are counted from: the run's start, the same for every file.
    now: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if (
            self.min_size is not None
            and self.max_size is not None
            and self.min_size > self.max_size
        ):
            raise SelectionError("--min-size is larger than --max-size")

    def prunes(self, dir_rel: bytes) -> bool:
        """Whether a directory is excluded as a whole."""
        return bool(self.exclude) and _matches(self.exclude, dir_rel)

    def left_out(self, rel: bytes, size: int, mtime: float | None = None) -> str | None:
        """Why a filter leaves the file at ``rel`` out (for the manifest), or None.

        The shard is not a filter: a file of another share is not left out,
        only pushed elsewhere, so it is not reported.
        """
        why = self._size_or_age(size, mtime)
        if why is not None:
            return why
        if self.exclude and _matches(self.exclude, rel):
            return "matches --exclude"
        if self.include and not _matches(self.include, rel):
            return "matches no --include"
        return None

    def _size_or_age(self, size: int, mtime: float | None) -> str | None:
        if self.min_size is not None and size < self.min_size:
            return f"smaller than --min-size {self.min_size}"
        if self.max_size is not None and size > self.max_size:
            return f"larger than --max-size {self.max_size}"
        age = None if mtime is None else self.now - mtime
        if age is not None and self.min_age is not None and age < self.min_age:
            return f"modified less than --min-age {self.min_age:g} s ago"
        if age is not None and self.max_age is not None and age > self.max_age:
            return f"modified more than --max-age {self.max_age:g} s ago"
        return None

    def in_shard(self, rel: bytes, shard_key: bytes | None = None,
                 content: Callable[[], bytes | None] | None = None) -> bool:
        """Whether this run's share owns the file (always, without ``--shard``).

        ``content`` gives the file's content key (:func:`~._content_key.content_key`),
        read only when there is a share to choose; None, or a file it cannot
        read, goes by ``shard_key`` (default ``rel``).
        """
        if self.shard is None:
            return True
        key = content() if content is not None else None
        return self.shard.takes(key if key is not None else
                                rel if shard_key is None else shard_key)

    def takes(self, rel: bytes, size: int, shard_key: bytes | None = None) -> bool:
        """Whether a regular file at ``rel`` of ``size`` bytes is part of this run.

        ``shard_key`` (default ``rel``) is what the shard is chosen by: the push
        passes the display path, so two PATH arguments' files never collide.
        """
        return self.left_out(rel, size) is None and self.in_shard(rel, shard_key)
