"""``ipfs add -r --only-hash`` over paths on disk: a streaming walk, parallel hashing.

The walk (:mod:`bulkpin.fs`) streams depth first and holds only the listings
of the directories on the current path, never the whole tree. Files are hashed
on a bounded thread pool; results come back in walk order through a bounded
window of pending work, so output is deterministic and memory does not grow
with the number of files. A large file is not given to one thread: its stages
are spread over the same pool (:mod:`.parallel`), so one big file uses every
core too.

A directory whose contents could not all be read gets no CID: a CID that leaves
out a file would name a tree that does not exist.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from ..fs import WalkEntry, describe_os_error, walk
from .directory import DirectoryBuilder, symlink_link
from .file_builder import FileResult, hash_file
from .node import Link, cid_to_str
from .parallel import DEFAULT_HASH_WORKERS, PARALLEL_MIN_SIZE, hash_file_parallel
from .profiles import DEFAULT_PROFILE, CidProfile

EntryKind = Literal["file", "directory", "symlink"]

# Re-exported here, where callers have always found it.
__all__ = ["DEFAULT_HASH_WORKERS", "TreeEntry", "TreeError", "TreeImporter", "import_tree"]


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One imported file, directory or symlink, reported in ``ipfs add`` order.

    ``path`` is the display path (argument base name joined with the relative
    path), as bytes because file names need not be UTF-8. ``size`` counts file
    bytes (for a directory: every file under it); ``tsize`` is the DAG size.
    """

    path: bytes
    kind: EntryKind
    cid: str
    size: int
    tsize: int


@dataclass(frozen=True, slots=True)
class TreeError:
    """A path that could not be imported, and why."""

    path: bytes
    message: str


@dataclass(slots=True)
class _Dir:
    path: bytes
    builder: DirectoryBuilder
    parent: _Dir | None
    name: bytes
    size: int = 0
    failed: bool = False


@dataclass(slots=True)
class _Item:
    """A unit of output, waiting in the window until its turn."""

    path: bytes
    parent: _Dir | None
    name: bytes
    kind: EntryKind
    future: Future[FileResult] | None = None
    #: A file's result known without hashing (see ``TreeImporter.known``).
    result: FileResult | None = None
    link: Link | None = None
    directory: _Dir | None = None
    error: str | None = None


class TreeImporter:
    """Import paths as ``ipfs add --only-hash [-r]`` would, yielding results in order."""

    def __init__(
        self,
        profile: CidProfile = DEFAULT_PROFILE,
        *,
        recursive: bool = False,
        hidden: bool = False,
        hash_workers: int = DEFAULT_HASH_WORKERS,
        hasher: Callable[[bytes, CidProfile], FileResult] | None = None,
        known: Callable[[bytes, os.stat_result], FileResult | None] | None = None,
        parallel_min_size: int = PARALLEL_MIN_SIZE,
        observe: Callable[[WalkEntry], None] | None = None,
    ) -> None:
        """``known(path, lstat)`` may give a file's result without reading it.

        It runs in the walking thread, so it must be cheap (a lookup): a file
        it knows costs no hand-off to the hashing threads.

        ``hasher(path, profile)`` replaces the hashing of every file. Without
        it, a file of ``parallel_min_size`` bytes or more has its leaves
        hashed on all ``hash_workers`` threads, smaller ones one per thread.

        ``observe(entry)`` sees every entry of the walk the results come from,
        in the walking thread, as it is met (a push folds them into the
        fingerprint it keeps with a root CID: :class:`bulkpin.fs.TreeFingerprint`).
        """
        if hash_workers < 1:
            raise ValueError("hash_workers must be at least 1")
        self.profile = profile
        self.recursive = recursive
        self.hidden = hidden
        self.hash_workers = hash_workers
        self.parallel_min_size = parallel_min_size
        self._hasher = hasher or hash_file
        # Splitting files is the default hasher's business; a given one is
        # called for every file, as it asked.
        self._split_large = hasher is None and hash_workers > 1
        self._known = known
        self._observe = observe
        # Enough queued work to keep every thread busy while the walk runs ahead.
        self._window = hash_workers * 8

    def run(self, paths: Iterable[str | bytes]) -> Iterator[TreeEntry | TreeError]:
        """Yield an entry or error for every path, children before their directory."""
        # One thread, outside the pool, leads the large files one at a time:
        # it only waits for their stages, so no pool thread ever waits on work
        # queued behind it, and only one file's stage buffers exist at once.
        with (
            ThreadPoolExecutor(self.hash_workers, thread_name_prefix="bulkpin-hash") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="bulkpin-large") as large,
        ):
            pending: deque[_Item] = deque()
            for item in self._items(paths, pool, large):
                pending.append(item)
                while len(pending) > self._window:
                    yield from self._resolve(pending.popleft())
            while pending:
                yield from self._resolve(pending.popleft())

    # -- producing work, in output order --

    def _items(
        self, paths: Iterable[str | bytes], pool: ThreadPoolExecutor, large: ThreadPoolExecutor
    ) -> Iterator[_Item]:
        for raw in paths:
            path = os.fsencode(raw)
            base = os.path.basename(path.rstrip(b"/")) or path
            open_dirs: list[_Dir] = []
            for entry in walk(path, hidden=self.hidden):
                if self._observe is not None:
                    self._observe(entry)
                display = base + b"/" + entry.rel if entry.rel else base
                parent = open_dirs[-1] if open_dirs else None
                if entry.kind == "dir":
                    if parent is None and not self.recursive:
                        yield _Item(display, None, base, "directory",
                                    error="is a directory (use -r to import it recursively)")
                        break
                    builder = DirectoryBuilder(self.profile)
                    open_dirs.append(_Dir(display, builder, parent, entry.name))
                elif entry.kind == "dir_end":
                    done = open_dirs.pop()
                    yield _Item(done.path, done.parent, done.name, "directory", directory=done)
                elif entry.kind == "error":
                    # A directory that cannot be listed reports under its own path;
                    # either way the enclosing directory is marked failed on resolve.
                    yield _Item(display, parent, entry.name, "file", error=entry.error)
                elif entry.kind == "file":
                    yield self._file_item(entry, display, parent, pool, large)
                elif entry.kind == "symlink":
                    yield self._symlink_item(entry.path, display, parent, entry.name)
                else:
                    # FIFOs, sockets and devices: opening one could block or read forever.
                    yield _Item(display, parent, entry.name, "file",
                                error="not a regular file, directory or symlink; skipped")

    def _file_item(
        self,
        entry: WalkEntry,
        display: bytes,
        parent: _Dir | None,
        pool: ThreadPoolExecutor,
        large: ThreadPoolExecutor,
    ) -> _Item:
        if self._known is not None and entry.st is not None:
            result = self._known(entry.path, entry.st)
            if result is not None:
                return _Item(display, parent, entry.name, "file", result=result)
        future: Future[FileResult]
        if (self._split_large and entry.st is not None
                and entry.st.st_size >= self.parallel_min_size):
            future = large.submit(hash_file_parallel, entry.path, self.profile,
                                  workers=self.hash_workers, pool=pool)
        else:
            future = pool.submit(self._hasher, entry.path, self.profile)
        return _Item(display, parent, entry.name, "file", future=future)

    def _symlink_item(self, path: bytes, display: bytes, parent: _Dir | None, name: bytes) -> _Item:
        try:
            target = os.readlink(path)
        except OSError as exc:
            return _Item(display, parent, name, "symlink", error=describe_os_error(exc))
        return _Item(display, parent, name, "symlink", link=symlink_link(target, self.profile))

    # -- resolving work, in output order --

    def _resolve(self, item: _Item) -> Iterator[TreeEntry | TreeError]:
        entry: TreeEntry | TreeError
        link: Link | None = item.link
        size = 0
        if item.directory is not None:
            d = item.directory
            if d.failed:
                entry = TreeError(d.path, "directory not imported: some of its entries failed")
            else:
                result = d.builder.finish()
                link, size = result.link(), d.size
                entry = TreeEntry(d.path, "directory", result.cid, size, result.tsize)
        elif item.error is not None:
            entry = TreeError(item.path, item.error)
        elif item.future is not None or item.result is not None:
            try:
                fr = item.result if item.future is None else item.future.result()
                assert fr is not None
            except OSError as exc:
                entry = TreeError(item.path, describe_os_error(exc))
            else:
                link, size = fr.link(), fr.size
                entry = TreeEntry(item.path, "file", fr.cid, fr.size, fr.tsize)
        else:
            assert link is not None
            entry = TreeEntry(item.path, item.kind, cid_to_str(link.cid), 0, link.tsize)
        parent = item.parent
        if parent is not None:
            if link is None:
                parent.failed = True
            elif not parent.failed:
                parent.builder.add(item.name, link)
                parent.size += size
        yield entry



def import_tree(
    paths: Iterable[str | bytes],
    profile: CidProfile = DEFAULT_PROFILE,
    *,
    recursive: bool = False,
    hidden: bool = False,
    hash_workers: int = DEFAULT_HASH_WORKERS,
) -> Iterator[TreeEntry | TreeError]:
    """Shorthand for ``TreeImporter(...).run(paths)``."""
    importer = TreeImporter(profile, recursive=recursive, hidden=hidden, hash_workers=hash_workers)
    return importer.run(paths)
