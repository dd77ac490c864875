"""What a ``--shard`` share is chosen by for a readable file: its size and first bytes.

Shares chosen by path split copies of one content (a file and its backup under
another name) between shards, and shards on different machines share nothing
that could tell them the other is sending it: each uploads it. Chosen by
content, every copy is the same shard's, and that shard's own dedup sends it
once, with no coordination. Size and the first :data:`CONTENT_KEY_BYTES` are as
much of the content as a walk can afford to read: copies always agree on them,
and a difference in the rest only costs balance, never a file.
"""

from __future__ import annotations

import hashlib
import os
import stat

__all__ = ["CONTENT_KEY_BYTES", "content_key"]

#: Bytes of a file's start read for its key (the push's large-file prefix, too).
CONTENT_KEY_BYTES = 16 * 1024


def content_key(path: bytes, size: int, follow_symlinks: bool = False) -> bytes | None:
    """A digest of ``size`` and the file's first bytes, or None if it cannot be read.

    An unreadable file keeps its path's share, so exactly one shard reports it.
    Opened non-blocking and checked regular: a file swapped for a FIFO since the
    walk's ``lstat`` never blocks the walk.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        head = os.pread(fd, CONTENT_KEY_BYTES, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    return hashlib.blake2b(size.to_bytes(8, "big") + head, digest_size=16).digest()
