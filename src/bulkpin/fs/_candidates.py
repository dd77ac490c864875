"""The walk stage: PATH arguments (or a ``--files-from`` list) to file candidates.

It runs in a worker thread (``os.scandir`` and ``stat`` block) and hands
candidates to the event loop in batches through a bounded stream, so the walk
runs ahead of the uploads by a bounded amount and never holds the tree.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Literal

from ._content_key import content_key
from ._identity import FileIdentity
from ._pseudo import pseudo_fs_type
from ._selection import Selection
from ._walk import WalkEntry, describe_os_error, walk

CandidateKind = Literal["file", "skipped", "error"]

BATCH = 256


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file the run should consider, or a path it must report.

    ``root`` indexes the PATH argument it came from; ``display`` is the path the
    user sees (the argument's base name joined with the relative path).
    """

    kind: CandidateKind
    path: bytes
    display: bytes
    root: int
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    reason: str | None = None

    @property
    def identity(self) -> FileIdentity:
        """What the walk saw of the file."""
        return FileIdentity(self.size, self.mtime_ns, self.inode)


def _display(base: bytes, rel: bytes) -> bytes:
    return base + b"/" + rel if rel else base


def _file(path: bytes, display: bytes, root: int, st: os.stat_result) -> Candidate:
    return Candidate("file", path, display, root, st.st_size, st.st_mtime_ns, st.st_ino)


Observer = Callable[[int], Callable[[WalkEntry], None]]


def _observed(entries: Iterator[WalkEntry],
              see: Callable[[WalkEntry], None] | None) -> Iterator[WalkEntry]:
    for entry in entries:
        if see is not None:
            see(entry)
        yield entry


def walk_candidates(
    roots: Iterable[bytes],
    selection: Selection,
    *,
    hidden: bool = False,
    follow_symlinks: bool = False,
    observe: Observer | None = None,
) -> Iterator[Candidate]:
    """Every candidate under every root, in walk order.

    ``observe(root index)`` gives the function that sees every entry of that
    PATH's walk as it is met (the push folds them into each PATH's
    :class:`~._fingerprint.TreeFingerprint`).
    """
    for index, root in enumerate(roots):
        base = os.path.basename(root.rstrip(b"/")) or root
        for entry in _observed(walk(
            root, hidden=hidden, follow_symlinks=follow_symlinks, prune=selection.prunes,
            report_left_out=True, follow_root=True,
        ), observe(index) if observe is not None else None):
            display = _display(base, entry.rel)
            if entry.kind == "file":
                assert entry.st is not None
                rel = entry.rel or entry.name
                why = selection.left_out(rel, entry.st.st_size, entry.st.st_mtime)
                pseudo = pseudo_fs_type(entry.st)
                content = partial(content_key, entry.path, entry.st.st_size, follow_symlinks) \
                    if why is None and pseudo is None else None
                if not selection.in_shard(rel, display, content):
                    continue  # another share's file: pushed elsewhere, not left out
                if pseudo is not None:
                    yield Candidate("skipped", entry.path, display, index,
                                    reason=f"on the {pseudo} pseudo-filesystem: never read")
                elif why is None:
                    yield _file(entry.path, display, index, entry.st)
                else:
                    yield Candidate("skipped", entry.path, display, index,
                                    reason=f"left out: {why}")
            elif entry.kind == "left_out":
                if selection.in_shard(entry.rel, display):
                    yield Candidate("skipped", entry.path, display, index,
                                    reason=f"left out: {entry.error}")
            elif entry.kind == "error":
                yield Candidate("error", entry.path, display, index, reason=entry.error)
            elif entry.kind == "symlink":
                yield Candidate("skipped", entry.path, display, index,
                                reason="symlink; not followed (use --follow-symlinks)")
            elif entry.kind == "special":
                yield Candidate("skipped", entry.path, display, index,
                                reason="not a regular file (FIFO, socket or device); never opened")


def files_from(lines: Iterable[bytes], selection: Selection, *, root: int = 0,
               follow_symlinks: bool = False) -> Iterator[Candidate]:
    """Candidates from a ``--files-from`` list: one path per line, as given."""
    for raw in lines:
        path = raw.rstrip(b"\r\n")
        if not path:
            continue
        try:
            st = os.stat(path) if follow_symlinks else os.lstat(path)
        except OSError as exc:
            yield Candidate("error", path, path, root, reason=describe_os_error(exc))
            continue
        if stat.S_ISREG(st.st_mode):
            if selection.left_out(path, st.st_size) is None and selection.in_shard(
                    path, content=partial(content_key, path, st.st_size, follow_symlinks)):
                yield _file(os.path.abspath(path), path, root, st)
        elif stat.S_ISLNK(st.st_mode):
            yield Candidate("skipped", path, path, root,
                            reason="symlink; not followed (use --follow-symlinks)")
        elif stat.S_ISDIR(st.st_mode):
            yield Candidate("error", path, path, root,
                            reason="a directory in --files-from; list its files instead")
        else:
            yield Candidate("skipped", path, path, root,
                            reason="not a regular file (FIFO, socket or device); never opened")


def batched(candidates: Iterable[Candidate], size: int = BATCH) -> Iterator[list[Candidate]]:
    """Group candidates so the thread-to-loop hand-off is paid per batch, not per file."""
    batch: list[Candidate] = []
    for candidate in candidates:
        batch.append(candidate)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
