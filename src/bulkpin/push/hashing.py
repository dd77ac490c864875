"""Local hashing for the push pipeline, run in worker threads.

A file is checked against the size, ``mtime_ns`` and inode the walk recorded,
before and after it is read, and after the read its path must still name the
file that was read (a file renamed over it leaves the descriptor's ``fstat``
unchanged): otherwise :class:`ChangedWhileRead` is raised, so no CID is ever
recorded for bytes that are not what the path holds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from ..client import FileChangedError, FileContent, ReadReport
from ..fs import ChangedWhileRead, FileIdentity, check_still_at
from ..unixfs import CidProfile, FileBuilder, hash_bytes
from ..unixfs.file_builder import read_buffer


def _open_checked(path: bytes, expected: FileIdentity, follow_symlinks: bool = False) -> int:
    # O_NOFOLLOW: the walk saw a regular file here; if a symlink replaced it, refuse
    # (unless the run follows symlinks: then the walk saw a link's target).
    # O_NONBLOCK: if a FIFO replaced it, opening must not hang.
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags if follow_symlinks else flags | os.O_NOFOLLOW)
    try:
        expected.check(os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def hash_checked(path: bytes, expected: FileIdentity, profile: CidProfile,
                 follow_symlinks: bool = False) -> str:
    """The CID of a file of any size, read in pieces, checked against ``expected``."""
    fd = _open_checked(path, expected, follow_symlinks)
    builder = FileBuilder(profile)
    buf = read_buffer(expected.size)
    view = memoryview(buf)
    try:
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
            while n := f.readinto(buf):
                builder.update(view[:n])
        after = os.fstat(fd)
        expected.check(after)
    finally:
        os.close(fd)
    check_still_at(path, after.st_dev, expected, follow_symlinks)
    if builder.size != expected.size:
        raise ChangedWhileRead(
            f"changed while being read ({builder.size} bytes, not {expected.size})"
        )
    return builder.finish().cid


def read_checked(path: bytes, expected: FileIdentity, profile: CidProfile,
                 follow_symlinks: bool = False) -> tuple[str, FileContent]:
    """Read a small file whole and hash it, checked like :func:`hash_checked`.

    Returns its CID and its content, which is then uploaded from memory: the
    file is read once in all.
    """
    fd = _open_checked(path, expected, follow_symlinks)
    try:
        pieces: list[bytes] = []
        got = 0
        # One byte more than expected, to see a file that grew.
        while got <= expected.size and (piece := os.read(fd, expected.size + 1 - got)):
            pieces.append(piece)
            got += len(piece)
        after = os.fstat(fd)
        expected.check(after)
    finally:
        os.close(fd)
    check_still_at(path, after.st_dev, expected, follow_symlinks)
    data = b"".join(pieces)
    if len(data) != expected.size:
        raise ChangedWhileRead(
            f"changed while being read ({len(data)} bytes, not {expected.size})"
        )
    return hash_bytes(data, profile).cid, FileContent(data, after.st_mtime_ns, after.st_ino)


#: Bytes of a large file's start whose digest tells two same-size files apart.
PREFIX_BYTES = 16 * 1024


def prefix_digest(path: bytes, expected: FileIdentity, follow_symlinks: bool = False) -> str:
    """A digest of the file's first :data:`PREFIX_BYTES`: cheap evidence two files differ.

    Split archives and fixed-size shards share a size but not their first bytes;
    reading this much costs a large file under 2% more reading, where hashing
    it first to rule out a copy would read it twice.
    """
    fd = _open_checked(path, expected, follow_symlinks)
    try:
        head = os.pread(fd, PREFIX_BYTES, 0)
    finally:
        os.close(fd)
    return hashlib.sha256(head).hexdigest()[:32]


def stream_check(path: bytes, display: bytes, identity: FileIdentity,
                 follow_symlinks: bool = False) -> Callable[[ReadReport], None]:
    """The client's ``verify`` hook for a file streamed while hashed.

    Run after the file part is sent and before its ``cid`` part: the bytes read
    must be the file the walk saw, and the path must still name it (renamed
    over mid-upload, the upload would pin content the path no longer has).
    Raises :class:`FileChangedError` to abandon the upload; it is read again.
    """
    shown = os.fsdecode(display)

    def verify(report: ReadReport) -> None:
        if FileIdentity(report.size, report.mtime_ns, report.inode) != identity:
            raise FileChangedError(f"{shown} changed while being read", operation="pinFile")
        if report.dev:
            try:
                check_still_at(path, report.dev, identity, follow_symlinks)
            except ChangedWhileRead as exc:
                raise FileChangedError(f"{shown} {exc}", operation="pinFile") from None

    return verify
