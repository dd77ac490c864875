"""The content-addressed store: one file per CID, written whole or not at all.

An upload is written to a temporary file in ``blobs/tmp`` (same file system as
its final place), fsynced, then renamed to ``blobs/<last two chars>/<cid>``
and the directory fsynced. A large upload streams into its temporary file as
it arrives (:class:`TempBlob`); a small one is held in memory and written
only once verified (:class:`MemoryBlob`). Only after that does the database
record the pin, so a pin never names a missing blob; a crash in between leaves at worst an
unreferenced blob, which the next upload of the same content simply replaces.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import shutil
import tempfile
from pathlib import Path
from typing import TypeAlias

from ..unixfs import CidProfile, FileResult, hash_bytes, hash_file
from .private_files import PRIVATE_DIR

_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
#: O_DIRECT writes are multiples of this (every common logical block size divides it).
ALIGN = 4096
#: Canonical CID strings are base58btc or base32: letters and digits only.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Blobs under ``root``, keyed by canonical CID string."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._tmp = root / "tmp"
        # Leftovers of uploads cut short by a crash are never referenced.
        shutil.rmtree(self._tmp, ignore_errors=True)
        # Files are private from mkstemp; the directories are made so too.
        root.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        self._tmp.mkdir(mode=PRIVATE_DIR, exist_ok=True)

    def path_for(self, cid: str) -> Path:
        """Where the blob of ``cid`` lives (whether or not it exists)."""
        if not cid or len(cid) > 128 or not _SAFE.issuperset(cid):
            raise ValueError(f"not a canonical CID: {cid!r}")
        return self._root / cid[-2:] / cid

    def size(self, cid: str) -> int | None:
        """The blob's size in bytes, or None if the store does not hold it."""
        try:
            return self.path_for(cid).stat().st_size
        except (OSError, ValueError):
            return None

    def new_temp(self) -> TempBlob:
        """An empty temporary file to stream an upload into."""
        return TempBlob(self)

    def _mkstemp(self) -> tuple[int, Path]:
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        return fd, Path(name)

    def _holds(self, final: Path, size: int) -> bool:
        """Whether ``final`` is already stored, at this size.

        Such a blob holds the same bytes (it was verified the same way and
        renamed into place whole): replacing it would only make the file system
        free a file as large as the upload while the client waits.
        """
        try:
            return final.stat().st_size == size
        except OSError:
            return False


def _place(temp: Path, final: Path) -> None:
    """Rename a synced temporary file to its final name, durably."""
    final.parent.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    os.replace(temp, final)
    _fsync_dir(final.parent)


class TempBlob:
    """A blob being written; :meth:`commit` or :meth:`discard` it (blocking calls).

    Where the file system allows it the file is written with ``O_DIRECT``: a
    large upload then neither fills the page cache with dirty pages (whose
    writeback throttles every writer on the machine) nor costs a long
    ``fsync`` at the end. O_DIRECT needs page-aligned buffers whose length is a
    multiple of :data:`ALIGN`: give :meth:`write` such buffers (an ``mmap``),
    except for the very last write, which may be of any length. (Uploads
    short enough to fit one stage never get here: see :class:`MemoryBlob`.)
    """

    #: Removing it frees a file: done on a thread.
    on_disk = True

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        #: ``path``: the temporary file, readable while it is written.
        self._fd, self.path = store._mkstemp()
        self._closed = False
        self._direct = _enable_direct(self._fd)
        #: Bytes written so far.
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (see the class docstring for O_DIRECT's rules)."""
        view = memoryview(data).cast("B")
        self.size += len(view)
        if self._direct and len(view) % ALIGN:
            aligned = len(view) - len(view) % ALIGN
            _write_all(self._fd, view[:aligned])
            view = view[aligned:]
            # The last partial block cannot go through O_DIRECT.
            fcntl.fcntl(self._fd, fcntl.F_SETFL, fcntl.fcntl(self._fd, fcntl.F_GETFL) & ~_O_DIRECT)
            self._direct = False
        _write_all(self._fd, view)

    def commit(self, cid: str) -> Path:
        """Make the bytes durable and give them their CID's name.

        A blob already stored under ``cid`` is kept, and these bytes are left
        for :meth:`discard`.
        """
        final = self._store.path_for(cid)
        if self._store._holds(final, self.size):
            os.close(self._fd)
            self._closed = True
            return final
        os.fsync(self._fd)
        os.close(self._fd)
        self._closed = True
        _place(self.path, final)
        return final

    def rehash(self, profile: CidProfile) -> FileResult:
        """The bytes' CID under another profile (read back from the file)."""
        return hash_file(self.path, profile)

    def discard(self) -> None:
        """Forget the bytes; safe to call more than once or after commit."""
        if not self._closed:
            os.close(self._fd)
            self._closed = True
        self.path.unlink(missing_ok=True)


class MemoryBlob:
    """A whole upload held in memory: nothing touches the disk until :meth:`commit`.

    Most uploads of a bulk push are small. Streaming each through a
    temporary file cost a thread hand-off per step (create, write, hash,
    commit, remove) and left a file to remove when the CID did not match;
    held in memory, a verified upload is written, synced and named in one
    blocking call, and a refused one costs nothing. ``buffer`` is owned from
    here on: :meth:`commit` and :meth:`discard` close it.
    """

    #: Removing it is instant: no thread is needed.
    on_disk = False

    def __init__(self, store: BlobStore, buffer: mmap.mmap, size: int) -> None:
        self._store = store
        self._buffer = buffer
        self.size = size

    def view(self) -> memoryview:
        """The bytes (release the view before :meth:`discard`)."""
        return memoryview(self._buffer)[: self.size]

    def commit(self, cid: str) -> Path:
        """Write the bytes under their CID's name, durably (or keep the stored blob)."""
        final = self._store.path_for(cid)
        if not self._store._holds(final, self.size):
            fd, temp = self._store._mkstemp()
            try:
                try:
                    with self.view() as view:
                        _write_all(fd, view)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                _place(temp, final)
            except BaseException:
                temp.unlink(missing_ok=True)  # gone already if the rename was done
                raise
        self.discard()
        return final

    def rehash(self, profile: CidProfile) -> FileResult:
        """The bytes' CID under another profile."""
        with self.view() as view:
            return hash_bytes(view, profile)

    def discard(self) -> None:
        """Free the bytes; safe to call more than once or after commit."""
        with contextlib.suppress(BufferError):  # a view still alive: GC frees it
            self._buffer.close()


#: What an upload's bytes are kept in until they are committed or discarded.
Blob: TypeAlias = "TempBlob | MemoryBlob"


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _enable_direct(fd: int) -> bool:
    """Switch ``fd`` to O_DIRECT if this platform and file system support it."""
    if not _O_DIRECT:
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | _O_DIRECT)
        probe = mmap.mmap(-1, ALIGN)
        try:
            os.write(fd, probe)  # tmpfs and others refuse O_DIRECT writes only here
        finally:
            probe.close()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)
        return False
    return True
