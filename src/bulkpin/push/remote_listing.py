"""What a remote push names, listed as a stream: bucket objects and URL-list entries.

:class:`RemoteSpec` is what the user gave (``s3://`` locations, a ``--urls``
list, for one location a ``--files-from`` list of keys below its prefix).
:func:`list_remote` sends one :class:`Listed` per entry (a batch of one: each
is committed as it is planned) over a bounded stream, so a bucket of any size
is planned in bounded memory: S3 pages come in one at a time
(:meth:`~bulkpin.sources.s3.S3Source.list_objects` applies the selection to
keys below the prefix), a URL list is read a batch of lines at a time in a
worker thread. For URLs only ``--shard`` applies (by URL):
their sizes and names are not known before they are fetched.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ..fs import Selection
from ..sources.http import BadLine, UrlEntry, read_url_list
from ..sources.remote import Skipped
from ..sources.s3 import S3Location, S3Object, S3Source

__all__ = ["STDIN", "Listed", "RemoteSpec", "list_remote"]

#: ``--urls -``: the list comes on standard input.
STDIN = "-"

#: URL-list lines read per trip to the worker thread.
_LINES_PER_BATCH = 1000


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """The remote sources of one push."""

    locations: tuple[S3Location, ...] = ()
    urls: str | None = None
    #: Keys below the single location's prefix (``--files-from``), if given.
    keys: Iterable[str] | None = None

    def root_keys(self) -> list[bytes]:
        """One journal root per source, as the default journal's key and manifest root rows."""
        roots = [str(loc).encode("utf-8", "surrogatepass") for loc in self.locations]
        if self.urls is not None:
            where = self.urls if self.urls == STDIN else os.path.abspath(self.urls)
            roots.append(f"urls:{where}".encode("utf-8", "surrogatepass"))
        return roots


@dataclass(frozen=True, slots=True)
class Listed:
    """One entry of a source: its root's journal id, and the object (or why it is passed over)."""

    root: int
    entry: S3Object | UrlEntry | Skipped | BadLine
    #: The pin name: the key below the prefix, or the URL list's name.
    name: str = ""


def _name(location: S3Location, obj: S3Object) -> str:
    prefix = location.prefix
    if obj.key == prefix:
        return obj.rel  # the location named the object itself: its base name
    below = obj.key[len(prefix):] if obj.key.startswith(prefix) else obj.key
    return below.lstrip("/") or obj.key


async def _list_location(s3: S3Source, location: S3Location, root: int, selection: Selection,
                         send: MemoryObjectSendStream[Sequence[Listed]]) -> None:
    async for entry in s3.list_objects(location, selection):
        name = _name(location, entry) if isinstance(entry, S3Object) else ""
        await send.send((Listed(root, entry, name),))


async def _list_keys(s3: S3Source, location: S3Location, keys: Iterable[str], root: int,
                     selection: Selection, send: MemoryObjectSendStream[Sequence[Listed]]) -> None:
    """``--files-from`` for a bucket: each line is a key (or a "directory") below the prefix."""
    base = location.prefix.rstrip("/")
    for line in keys:
        rel = line.strip().lstrip("/")
        if not rel:
            continue
        one = S3Location(location.bucket, f"{base}/{rel}" if base else rel)
        async for entry in s3.list_objects(one, selection):
            if isinstance(entry, S3Object):
                entry_name = entry.key[len(base):].lstrip("/") if base else entry.key
                await send.send((Listed(root, entry, entry_name),))
            else:
                await send.send((Listed(root, entry),))


def _open_list(source: str) -> IO[str]:
    if source == STDIN:
        return sys.stdin
    return open(source, encoding="utf-8", errors="surrogateescape")


async def _list_urls(source: str, root: int, selection: Selection,
                     send: MemoryObjectSendStream[Sequence[Listed]]) -> None:
    stream = await anyio.to_thread.run_sync(_open_list, source)
    try:
        entries: Iterator[UrlEntry | BadLine] = read_url_list(stream)
        while batch := await anyio.to_thread.run_sync(
                lambda: list(islice(entries, _LINES_PER_BATCH))):
            for entry in batch:
                shard = selection.shard
                if isinstance(entry, UrlEntry) and shard is not None \
                        and not shard.takes(entry.url.encode("utf-8", "surrogatepass")):
                    continue
                await send.send((Listed(root, entry),))
    finally:
        if stream is not sys.stdin:
            stream.close()


async def list_remote(spec: RemoteSpec, roots: list[int], selection: Selection,
                      s3: S3Source | None, send: MemoryObjectSendStream[Sequence[Listed]]) -> None:
    """Every entry of every source of ``spec``, in order; closes ``send`` at the end."""
    async with send:
        for location, root in zip(spec.locations, roots, strict=False):
            assert s3 is not None
            if spec.keys is not None:
                await _list_keys(s3, location, spec.keys, root, selection, send)
            else:
                await _list_location(s3, location, root, selection, send)
        if spec.urls is not None:
            await _list_urls(spec.urls, roots[-1], selection, send)
