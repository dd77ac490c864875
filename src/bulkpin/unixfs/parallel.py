"""One file's leaves hashed on several threads: the same DAG and CID, on every core.

A UnixFS file's leaves are independent (each is the sha256 of one chunk, framed
for dag-pb leaves); only the balanced layout above them needs them in file
order. So a large file is cut into *stages* of whole chunks. Each stage is read
with positional reads (no shared file offset, so stages need no lock) and its
leaves hashed on a pool thread, while the calling thread hands the leaves of
each stage to one :class:`~.file_builder.FileBuilder`, in file order, as they
come back. hashlib and ``preadv`` release the GIL, so the threads really run in
parallel.

Memory is a fixed number of stage buffers (:func:`stages_in_flight` of them,
:data:`STAGE_SIZE` each), reused from stage to stage, whatever the file size.

Stages are submitted in file order, so on a disk they are read nearly in order;
the page cache, where this matters most, does not care.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait

from .file_builder import (
    READ_SIZE,
    FileBuilder,
    FileResult,
    aligned_buffer,
    hash_open_file,
    leaf_links,
)
from .node import Link
from .profiles import DEFAULT_PROFILE, CidProfile

__all__ = [
    "DEFAULT_HASH_WORKERS",
    "PARALLEL_MIN_SIZE",
    "STAGE_SIZE",
    "hash_file_parallel",
    "hash_stages",
    "stages_in_flight",
]

#: Default number of hashing threads: one per core saturates hashlib.
DEFAULT_HASH_WORKERS = os.cpu_count() or 2

#: Bytes per stage (rounded down to whole chunks of the profile): large enough
#: that a hand-off to a thread is a rounding error next to hashing it (about
#: 3 ms of sha256), small enough that a few in flight stay a few MiB.
STAGE_SIZE = READ_SIZE

#: Below this size a file is hashed on one thread: it takes a few milliseconds,
#: and a tree of such files already keeps every thread busy with whole files.
PARALLEL_MIN_SIZE = 4 * STAGE_SIZE

_Submit = Callable[..., "Future[tuple[int, list[Link]]]"]


def stages_in_flight(workers: int) -> int:
    """How many stage buffers :func:`hash_file_parallel` keeps for ``workers`` threads.

    Two per thread: while a thread hashes one stage, its next is already
    queued, so no thread waits for the caller to collect results.
    """
    return 2 * workers


def hash_file_parallel(
    path: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    profile: CidProfile = DEFAULT_PROFILE,
    *,
    workers: int = DEFAULT_HASH_WORKERS,
    pool: Executor | None = None,
    stage_size: int = STAGE_SIZE,
) -> FileResult:
    """CID of a file on disk, its leaves hashed on ``workers`` threads.

    The result equals :func:`~.file_builder.hash_file`'s. ``pool``, when given,
    runs the stages (it should have ``workers`` threads); otherwise one is made
    for the call. Blocking: never call it *from* a thread of ``pool``, which
    would wait for work queued behind itself.

    Like ``hash_file``, the file is read to its end, even when it has grown
    since it was opened.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    stage = max(stage_size - stage_size % profile.chunk_size, profile.chunk_size)
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if workers == 1 or size < 2 * stage:
            # One stage's worth or less: nothing to spread.
            return hash_open_file(f, size, profile)
        builder = FileBuilder(profile)
        if pool is not None:
            hash_stages(f.fileno(), size, builder, pool.submit, stages_in_flight(workers), stage)
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="bulkpin-leaves") as own:
                hash_stages(f.fileno(), size, builder, own.submit, stages_in_flight(workers), stage)
        return builder.finish()


def hash_stages(
    fd: int,
    size_hint: int,
    builder: FileBuilder,
    submit: _Submit,
    in_flight: int,
    stage: int,
) -> None:
    """Feed ``builder`` every byte of ``fd`` from offset 0 to its end, ``stage`` at a time.

    ``size_hint`` is where the file is expected to end; reading stops at the
    first short stage instead, so a file that grew or shrank is still read
    exactly to its end. ``stage`` must be a whole number of the builder's
    chunks; ``submit(fn, *args)`` runs a stage on a thread (``Executor.submit``).
    """
    chunk = builder.profile.chunk_size
    if stage <= 0 or stage % chunk:
        raise ValueError(f"a stage must be a whole number of {chunk}-byte chunks")
    if in_flight < 1:
        raise ValueError("at least one stage must be in flight")
    # Aligned, as read_buffer's are: the kernel copies into them 5x faster.
    free = [aligned_buffer(stage) for _ in range(in_flight)]
    pending: deque[tuple[Future[tuple[int, list[Link]]], memoryview]] = deque()
    offset = 0
    # Stages are submitted up to and including the one holding this offset;
    # it moves on whenever a stage comes back full, so a grown file is followed.
    end = size_hint
    try:
        while True:
            while free and offset <= end:
                buf = free.pop()
                pending.append((submit(_hash_stage, fd, buf, offset, builder.profile), buf))
                offset += stage
            done, buf = pending.popleft()
            n, leaves = done.result()
            builder.add_leaves(leaves)
            if n < stage:
                # The file ends in this stage; its partial last chunk, if any,
                # is finished by the builder.
                builder.update(buf[n - n % chunk : n])
                return
            end = max(end, builder.size)
            free.append(buf)
    finally:
        # Stages past the end (or after an error) still read into buffers and
        # from fd: let them finish before the caller closes the file.
        for future, _ in pending:
            future.cancel()
        wait([future for future, _ in pending])


def _hash_stage(
    fd: int, view: memoryview, offset: int, profile: CidProfile
) -> tuple[int, list[Link]]:
    """In a pool thread: read one stage at ``offset`` and hash its whole chunks.

    Returns the bytes read (fewer than ``len(view)`` only at the end of the
    file) and the leaves of the whole chunks among them.
    """
    n = 0
    while n < len(view):
        got = _pread_into(fd, view[n:], offset + n)
        if not got:
            break
        n += got
    return n, leaf_links(profile, view[: n - n % profile.chunk_size])


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    data = os.pread(fd, len(view), offset)  # pragma: no cover - no preadv here
    view[: len(data)] = data  # pragma: no cover
    return len(data)  # pragma: no cover
