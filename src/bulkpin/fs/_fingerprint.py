"""A digest of a tree as one walk saw it, folded as the walk goes (git's cache-tree idea).

Two walks that fold to the same digest met the same entries in the same order:
the same names and kinds, and for every file and symlink the same size,
``mtime_ns`` and inode (the identity the journal already trusts a recorded CID
on, :mod:`._identity`). So a root CID computed from one walk still names the
tree another walk with the same digest saw, and need not be computed again.

Each directory's children are hashed in walk order; a child directory adds its
own digest. Memory is one hasher per directory on the current path. Errors and
special files count (a tree with one has no root CID, and that must not be
forgotten); ``left_out`` entries do not (the walk that computes the CID never
reports them, and what they leave out is not in the tree's CID).
"""

from __future__ import annotations

import hashlib
import os
import stat

from ._walk import WalkEntry

__all__ = ["TreeFingerprint"]

_SIZE = 16  # bytes of digest: a collision must be luck, not a birthday at 10^9 trees
_TAGS = {"file": b"f", "symlink": b"l", "special": b"s"}


class TreeFingerprint:
    """The fold of one PATH's walk; feed it every entry with :meth:`add`.

    ``salt`` is folded in first (the CID profile, the options the walk ran
    with): a digest only equals another made with the same salt.

    ``followed_root``: the walk stat'ed its root through a symlink (the push's
    walk, ``follow_root=True``) while the walk that computes CIDs does not. A
    root that is a symlink is folded as that walk sees it, one symlink, from
    its own ``lstat``, and what the push walked below it is ignored.
    """

    __slots__ = ("_done", "_ignore", "_open", "_top", "followed_root")

    def __init__(self, salt: bytes = b"", *, followed_root: bool = False) -> None:
        self.followed_root = followed_root
        self._top = hashlib.blake2b(salt, digest_size=_SIZE)
        self._open: list[hashlib.blake2b] = []  # one per directory on the current path
        self._done: bytes | None = None
        self._ignore = False

    @property
    def digest(self) -> bytes | None:
        """The tree's digest, once its walk has ended (None before, or if it could not tell)."""
        return self._done

    def add(self, entry: WalkEntry) -> None:
        """Fold one walk entry in."""
        tag = _TAGS.get(entry.kind)
        if tag is not None and entry.rel and not self._ignore:
            # Most entries: a file (or link) in an open directory. Kept short, as it runs
            # once a file in the push's walk (rpartition: os.path.basename costs 3x).
            st = entry.st
            assert st is not None
            self._open[-1].update(b"%b%b\0%d.%d.%d;" % (
                tag, entry.rel.rpartition(b"/")[2], st.st_size, st.st_mtime_ns, st.st_ino))
            return
        self._add_other(entry)

    def _add_other(self, entry: WalkEntry) -> None:
        kind = entry.kind
        if self._ignore or kind == "left_out":
            return
        if not entry.rel and kind != "dir_end" and self._root_is_link(entry):
            return
        into = self._open[-1] if self._open else self._top
        if kind == "dir":
            self._open.append(hashlib.blake2b(digest_size=_SIZE))
            return
        if kind == "dir_end":
            done = self._open.pop().digest()
            (self._open[-1] if self._open else self._top).update(
                b"d%b\0%b" % (entry.name, done))
        elif kind == "error":
            why = (entry.error or "").encode(errors="surrogateescape")
            into.update(b"e%b\0%d:%b" % (entry.name, len(why), why))
        else:
            st = entry.st
            assert st is not None
            into.update(b"%b%b\0%d.%d.%d;" % (
                _TAGS[kind], entry.name, st.st_size, st.st_mtime_ns, st.st_ino))
        if not entry.rel and not self._open:
            self._finish()

    def _root_is_link(self, entry: WalkEntry) -> bool:
        """For a followed root: fold it as a symlink (and stop) if ``lstat`` says it is one."""
        if not self.followed_root or entry.kind == "error":
            return False
        try:
            st = os.lstat(entry.path)
        except OSError:
            self._ignore = True  # gone since the walk stat'ed it: nothing to vouch for
            return True
        if not stat.S_ISLNK(st.st_mode):
            return False
        # Exactly the record the non-following walk's single entry makes.
        self._top.update(b"l%b\0%d.%d.%d;" % (entry.name, st.st_size, st.st_mtime_ns, st.st_ino))
        self._finish()
        self._ignore = True
        return True

    def _finish(self) -> None:
        self._done = self._top.digest()
