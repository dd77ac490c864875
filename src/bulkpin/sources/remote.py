"""What every remote source hands the uploader: objects, skip records, and readers.

A remote source (:mod:`.s3`, :mod:`.http`) lists or names objects, each a
:class:`RemoteObject`, and opens one at a time as a :class:`RemoteReader`, a
byte stream with ``read(n)`` semantics that the upload client consumes chunk by
chunk while it computes the CID. Nothing is ever written to disk and memory is
a few chunks (the upload's read-ahead, :func:`bulkpin.client.multipart.buffer_bytes`)
plus the connection's buffers, whatever the object's size.

Objects a source passes over for a reason the user should see (a directory
marker, an unusable line of a URL list) come out as :class:`Skipped` records
in the same stream, so the caller can count and report them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["RemoteObject", "RemoteReader", "Skipped"]


class RemoteObject(Protocol):
    """One object of a remote source, as listed (or as its first GET described it)."""

    @property
    def url(self) -> str:
        """``s3://bucket/key`` or ``https://...``: what a manifest row names the item by."""

    @property
    def size(self) -> int | None:
        """Bytes, when known before reading (None: an HTTP answer without ``Content-Length``)."""

    @property
    def etag(self) -> str | None:
        """The ``ETag`` as the source gave it, quotes included, if any."""

    @property
    def version(self) -> str | None:
        """A version id (S3 versioned buckets), if any."""


class RemoteReader(Protocol):
    """An open object's bytes, read in order, checked against what was listed."""

    @property
    def object(self) -> RemoteObject:
        """The object being read; its ``size``/``etag``/``version`` as the source confirmed."""

    @property
    def position(self) -> int:
        """Bytes handed out so far."""

    async def read(self, n: int) -> bytes:
        """Up to ``n`` (> 0) bytes; ``b""`` only at the end, once the object proved whole.

        Raises :class:`~.remote_errors.ObjectChanged` if the object is not (or no
        longer) the one listed, and :class:`~.remote_errors.SourceUnavailable`
        if the source stopped answering.
        """


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry a source passed over, and why (``"directory marker"``, ``"line 7: ..."``)."""

    url: str
    reason: str
    size: int | None = None
