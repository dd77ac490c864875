"""Whether a file is still the one we saw: one value type, one comparison.

A file is the same as when it was seen if its size, ``mtime_ns`` and inode
are. The walk records a :class:`FileIdentity`; the journal keeps it; readers
check it before and after reading; the journal check trusts a recorded CID
only while it holds. Every one of those asks :meth:`FileIdentity.matches`, so
"unchanged" means one thing everywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ChangedWhileRead", "FileIdentity", "check_still_at"]


class ChangedWhileRead(OSError):
    """The file's size, mtime or inode is not what was seen before."""


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What was seen of a file: enough to tell it changed, without reading it."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        """The identity a ``stat`` result describes."""
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)

    def matches(self, st: os.stat_result) -> bool:
        """Whether ``st`` still describes this file."""
        return self == FileIdentity.of(st)

    def check(self, st: os.stat_result) -> None:
        """Raise :class:`ChangedWhileRead` unless ``st`` still describes this file."""
        if not self.matches(st):
            raise ChangedWhileRead(f"changed while being read (size {self.size} -> {st.st_size})")


def check_still_at(path: bytes, dev: int, identity: FileIdentity,
                   follow_symlinks: bool = False) -> None:
    """Raise :class:`ChangedWhileRead` unless ``path`` still names the file that was read.

    A descriptor keeps describing the file it was opened on: a file renamed over
    the path while it was read leaves ``fstat`` unchanged, so the path itself is
    asked, after the read, for the device, inode, size and mtime the reader saw.
    """
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
    except FileNotFoundError:
        raise ChangedWhileRead("deleted while being read") from None
    if st.st_dev != dev or not identity.matches(st):
        raise ChangedWhileRead("replaced while being read (another file now has its name)")
