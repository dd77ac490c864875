"""A streaming, depth-first walk of a directory tree, shared by ``cid`` and ``push``.

Memory holds the listings of the directories on the current path only (names
and entry types, sorted by name bytes as kubo reads them), never the whole
tree, and the walk is iterative, so depth is limited by the filesystem, not by
Python's recursion limit. Paths are bytes throughout: names need not be UTF-8.

Symlinks are reported, not followed, unless asked; when they are followed, a
link back to a directory already on the current path is reported as a loop
instead of being walked forever. FIFOs, sockets and devices are reported as
``special`` and never opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

WalkKind = Literal["file", "dir", "dir_end", "symlink", "special", "error", "left_out"]


@dataclass(frozen=True, slots=True)
class WalkEntry:
    """One step of the walk.

    ``rel`` is the path below the root (``b""`` for the root itself); ``st`` is
    the entry's ``lstat`` (or ``stat`` when a followed symlink led to it), None
    for ``dir_end`` and ``error``. ``error`` explains an ``error`` entry.
    """

    kind: WalkKind
    path: bytes
    rel: bytes
    st: os.stat_result | None = None
    error: str | None = None

    @property
    def name(self) -> bytes:
        """The entry's own name (the root's base name for the root)."""
        return os.path.basename(self.rel or self.path.rstrip(b"/")) or self.path


def describe_os_error(exc: OSError) -> str:
    """A short reason for an OS error, without repeating the path."""
    return exc.strerror or str(exc)


def is_hidden(name: bytes) -> bool:
    """kubo's rule: a name starting with a dot is hidden."""
    return name.startswith(b".")


def _kind(mode: int) -> WalkKind:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "special"


def walk(
    root: str | bytes,
    *,
    hidden: bool = False,
    follow_symlinks: bool = False,
    prune: Callable[[bytes], bool] | None = None,
    report_left_out: bool = False,
    follow_root: bool = False,
) -> Iterator[WalkEntry]:
    """Yield every entry under ``root`` (and ``root`` itself), depth first.

    A directory is announced by ``dir`` before its contents and closed by
    ``dir_end`` after them. A directory that cannot be listed yields ``dir``,
    an ``error`` with the same ``rel``, then ``dir_end``. A directory below the
    root for whose ``rel`` ``prune`` answers True is not entered; nor is a
    hidden name unless ``hidden``. Both are reported as ``left_out`` (with the
    reason in ``error``) when ``report_left_out``, else silently skipped.
    ``follow_root``: a root that is a symlink is followed (``cp -r link/``).
    """
    root_b = os.fsencode(root)
    try:
        st = os.stat(root_b) if follow_symlinks or follow_root else os.lstat(root_b)
    except OSError as exc:
        yield WalkEntry("error", root_b, b"", error=describe_os_error(exc))
        return
    kind = _kind(st.st_mode)
    yield WalkEntry(kind, root_b, b"", st)
    if kind != "dir":
        return
    # Each frame: the directory's path, rel, identity, and its remaining entries.
    stack: list[tuple[bytes, bytes, tuple[int, int], Iterator[bytes]]] = []
    ancestors: set[tuple[int, int]] = set()

    def enter(path: bytes, rel: bytes, dir_st: os.stat_result) -> Iterator[WalkEntry]:
        ident = (dir_st.st_dev, dir_st.st_ino)
        try:
            names = _listing(path, hidden or report_left_out)
        except OSError as exc:
            yield WalkEntry("error", path, rel, error=describe_os_error(exc))
            names = []
        ancestors.add(ident)
        stack.append((path, rel, ident, iter(names)))

    yield from enter(root_b, b"", st)
    while stack:
        path, rel, ident, names = stack[-1]
        for name in names:
            child = os.path.join(path, name)
            child_rel = os.path.join(rel, name) if rel else name
            if not hidden and is_hidden(name):
                yield WalkEntry("left_out", child, child_rel, error="hidden (--no-hidden)")
                continue
            child_st, problem = _stat_child(child, follow_symlinks, ancestors)
            if child_st is None:
                yield WalkEntry("error", child, child_rel, error=problem)
                continue
            kind = _kind(child_st.st_mode)
            if kind == "dir" and prune is not None and prune(child_rel):
                if report_left_out:
                    yield WalkEntry("left_out", child, child_rel,
                                    error="directory matches --exclude; not walked")
                continue
            yield WalkEntry(kind, child, child_rel, child_st)
            if kind == "dir":
                yield from enter(child, child_rel, child_st)
                break
        else:
            stack.pop()
            ancestors.discard(ident)
            yield WalkEntry("dir_end", path, rel)


def _stat_child(path: bytes, follow_symlinks: bool,
                ancestors: set[tuple[int, int]]) -> tuple[os.stat_result | None, str | None]:
    """A child's stat (its target's, when following), or None and why not."""
    try:
        st = os.lstat(path)
        if follow_symlinks and stat.S_ISLNK(st.st_mode):
            st = os.stat(path)
            if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) in ancestors:
                return None, "symlink loop; not followed"
    except OSError as exc:
        return None, describe_os_error(exc)
    return st, None


def _listing(path: bytes, hidden: bool) -> list[bytes]:
    """A directory's names sorted by bytes, hidden ones left out unless asked."""
    with os.scandir(path) as it:
        return sorted(e.name for e in it if hidden or not is_hidden(e.name))
