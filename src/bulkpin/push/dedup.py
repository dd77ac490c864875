"""Sending each content once: what is already there, and what is on its way.

Two questions before an upload, asked in this order:

1. Is the content (its CID) already there? The journal knows what this and
   earlier runs sent to the destination; the account index knows what the
   account holds. A journal row is trusted only while the index (if the run
   listed the account) agrees: the account is the truth, the journal a cache.
2. Is it on its way? Uploads in flight claim their content: by CID, or, for a
   large file whose CID is only known once it has streamed, by its size and
   the digest of its first bytes. A file that may be the same content waits
   for the claim to end, then asks question 1 again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio

from ..journal import FileRecord, Journal
from .account_index import AccountIndex, Held

__all__ = ["Claims", "Known", "known_content"]

#: What a streaming upload claims when its CID is not known yet.
ShapeKey = tuple[int, str | None]


@dataclass(frozen=True, slots=True)
class Known:
    """Where a content already is: a journal row to share, or the account's pin or job."""

    row: FileRecord | None = None
    held: Held | None = None


def known_content(journal: Journal, index: AccountIndex | None, record: FileRecord,
                  cid: str) -> Known | None:
    """Whether ``cid`` needs no upload for ``record``, and why."""
    held = index.holds(cid) if index is not None else None
    row = journal.known_cid(cid)
    if row is not None and row.id != record.id and (index is None or held is not None):
        return Known(row=row)
    if held is not None:
        return Known(held=held)
    return None


class Claims:
    """Content being uploaded now; at most one upload per content at a time."""

    def __init__(self) -> None:
        self._by_cid: dict[str, anyio.Event] = {}
        self._by_shape: dict[ShapeKey, anyio.Event] = {}

    async def wait(self, cid: str | None, shape: ShapeKey) -> None:
        """Return once no upload of this content (or of a possible copy) is in flight."""
        while True:
            event = (self._by_cid.get(cid) if cid is not None else None) or \
                self._by_shape.get(shape)
            if event is None:
                return
            await event.wait()

    @contextmanager
    def claim(self, cid: str | None, shape: ShapeKey) -> Iterator[None]:
        """Hold the content for the block (call right after :meth:`wait`, with no await)."""
        done = anyio.Event()
        if cid is not None:
            self._by_cid[cid] = done
        else:
            self._by_shape[shape] = done
        try:
            yield
        finally:
            if cid is not None:
                del self._by_cid[cid]
            else:
                del self._by_shape[shape]
            done.set()
