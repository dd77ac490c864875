"""Whether a pushed file on disk is still what was pushed: stat first, hash only if it changed.

A file whose size, mtime and inode are those the push journal recorded is
taken as unchanged (push's own rule for skipping it); any other is hashed
again with the push's CID profile (:func:`~bulkpin.push.hashing.hash_checked`,
in a worker thread), and its CID on disk compared with the one pushed.
"""

from __future__ import annotations

import os

import anyio.to_thread

from ..fs import FileIdentity
from ..push.hashing import hash_checked
from ..unixfs import CidProfile
from ._events import ChangedEvent
from ._items import VerifyItem

__all__ = ["check_on_disk"]


async def check_on_disk(item: VerifyItem, profile: CidProfile) -> ChangedEvent | None:
    """How the file of ``item`` differs from what was pushed, or None if it does not."""
    if item.path is None or item.identity is None:
        return None
    try:
        st = os.lstat(item.path)
    except OSError as exc:
        gone = isinstance(exc, FileNotFoundError)
        return ChangedEvent(item.name, item.cid, None,
                            "gone from disk" if gone else f"cannot stat it: {exc.strerror}")
    if item.identity.matches(st):
        return None
    try:
        cid = await anyio.to_thread.run_sync(hash_checked, item.path, FileIdentity.of(st),
                                             profile)
    except OSError as exc:  # ChangedWhileRead included: it is being written
        return ChangedEvent(item.name, item.cid, None, f"cannot hash it: {exc}")
    if cid == item.cid:
        return None  # touched, same content
    return ChangedEvent(item.name, item.cid, cid, f"its CID on disk is {cid}, not {item.cid}")
