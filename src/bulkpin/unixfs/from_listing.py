"""Root CIDs of a tree from a listing of its files (path, CID, size), without the bytes.

A directory node holds only its children's names, CIDs and DAG sizes, and a
file's DAG size follows from its byte count and the profile
(:func:`.file_builder.file_tsize`). So a listing of every file is enough to
rebuild each directory exactly as ``ipfs add -r --only-hash`` (and
``bulkpin cid -r``) would, plain or HAMT-sharded, with the same
:class:`.DirectoryBuilder`.

What a listing cannot say: symlinks' targets and empty directories. A listing
that had them would need them; one that has neither gives the root of the tree
it describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .directory import DirectoryBuilder
from .file_builder import file_tsize
from .node import Link, cid_from_str
from .profiles import DEFAULT_PROFILE, CidProfile

__all__ = ["ListedFile", "ListedRoot", "ListingError", "roots_from_listing"]

# Names a walk never yields below the top: they would mean another place in the tree.
_NOT_NAMES = frozenset({b"", b".", b".."})


class ListingError(ValueError):
    """A listing that describes no tree: a bad path, a name used twice, a CID of another profile."""


@dataclass(frozen=True, slots=True)
class ListedFile:
    """One file of the listing.

    ``path`` is the display path as bytes (file names need not be UTF-8):
    the top directory's name, then the path below it, joined by ``/``; a
    path without ``/`` is a top-level file (its own root).
    """

    path: bytes
    cid: str
    size: int


@dataclass(frozen=True, slots=True)
class ListedRoot:
    """A top-level directory (or file) of the listing and its CID."""

    name: bytes
    cid: str
    #: File bytes under it, as ``bulkpin cid --json`` reports a directory's size.
    size: int
    files: int


@dataclass(slots=True)
class _Open:
    """A directory on the path of the current file, still taking children."""

    path: bytes
    name: bytes
    builder: DirectoryBuilder
    size: int = 0
    files: int = 0


def _components(path: bytes) -> list[bytes]:
    parts = path.split(b"/")
    if not parts[0]:
        raise ListingError(f"{_show(path)}: not a path below a top directory (starts with /)")
    for part in parts[1:]:
        if part in _NOT_NAMES:
            raise ListingError(f"{_show(path)}: not a path a directory walk gives ({part!r} in it)")
    return parts


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")


def _file_link(item: ListedFile, profile: CidProfile) -> Link:
    try:
        cid = cid_from_str(item.cid)
    except ValueError as exc:
        raise ListingError(f"{_show(item.path)}: {item.cid!r} is not a CID ({exc})") from None
    if item.size < 0:
        raise ListingError(f"{_show(item.path)}: negative size {item.size}")
    # Text CIDv0 is "Qm..."; anything else is v1. Catching a listing made with
    # another profile here beats printing a root that matches nothing.
    v0 = item.cid.startswith("Qm")
    if (v0 and profile.cid_version == 1) or (not v0 and not profile.raw_leaves
                                             and profile.cid_version == 0):
        raise ListingError(
            f"{_show(item.path)}: {item.cid} was not made with CID profile {profile.name};"
            " give the profile the files were pushed with"
        )
    return Link(cid, file_tsize(item.size, profile), item.size)


def roots_from_listing(
    files: Iterable[ListedFile], profile: CidProfile = DEFAULT_PROFILE
) -> list[ListedRoot]:
    """Every top-level entry's root, in name order, as ``bulkpin cid -r`` would compute it.

    Each path must appear once; a listing where one path is both a file and a
    directory, or has empty, ``.`` or ``..`` names below the top, raises
    :class:`ListingError`.
    """
    # Sorting by components makes every directory's files contiguous, so the
    # tree is built as a depth-first walk builds it: only the directories on
    # the current path are open, each finished as soon as the walk leaves it.
    listing = sorted(((_components(f.path), f) for f in files), key=lambda pair: pair[0])
    roots: list[ListedRoot] = []
    stack: list[_Open] = []

    def close_to(depth: int) -> None:
        while len(stack) > depth:
            done = stack.pop()
            result = done.builder.finish()
            if stack:
                parent = stack[-1]
                _add(parent, done.path, done.name, result.link(), done.size, done.files)
            else:
                roots.append(ListedRoot(done.name, result.cid, done.size, done.files))

    for parts, item in listing:
        link = _file_link(item, profile)
        dirs, name = parts[:-1], parts[-1]
        common = 0
        while common < min(len(stack), len(dirs)) and stack[common].name == dirs[common]:
            common += 1
        close_to(common)
        if not dirs:
            if roots and roots[-1].name == name:
                raise ListingError(f"{_show(item.path)}: listed twice, or as a file and a"
                                   " directory")
            roots.append(ListedRoot(name, item.cid, item.size, 1))
            continue
        if not stack and roots and roots[-1].name == dirs[0]:
            raise ListingError(f"{_show(item.path)}: {_show(dirs[0])} is listed as a file"
                               " and a directory")
        for depth in range(common, len(dirs)):
            path = b"/".join(dirs[: depth + 1])
            stack.append(_Open(path, dirs[depth], DirectoryBuilder(profile)))
        _add(stack[-1], item.path, name, link, item.size, 1)
    close_to(0)
    return roots


def _add(parent: _Open, path: bytes, name: bytes, link: Link, size: int, files: int) -> None:
    try:
        parent.builder.add(name, link)
    except ValueError:
        raise ListingError(f"{_show(path)}: listed twice, or as a file and a directory") from None
    parent.size += size
    parent.files += files

