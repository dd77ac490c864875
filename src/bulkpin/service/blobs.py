"""The content-addressed store: one file per CID, written whole or not at all.

An upload is written to a temporary file in ``blobs/tmp`` (same file system as
its final place), fsynced, then renamed to ``blobs/<last two chars>/<cid>``
and the directory fsynced. Only after that does the database record the pin,
so a pin never names a missing blob; a crash in between leaves at worst an
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
        self._tmp.mkdir(parents=True, exist_ok=True)

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


class TempBlob:
    """A blob being written; :meth:`commit` or :meth:`discard` it (blocking calls).

    Where the file system allows it the file is written with ``O_DIRECT``: a
    large upload then neither fills the page cache with dirty pages (whose
    writeback throttles every writer on the machine) nor costs a long
    ``fsync`` at the end. O_DIRECT needs page-aligned buffers whose length is a
    multiple of :data:`ALIGN`: give :meth:`write` such buffers (an ``mmap``),
    except for the very last write, which may be of any length. A file whose
    first write is already its last (a small upload) is written normally:
    switching to O_DIRECT costs a probe write, more than such a file does.
    """

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store._tmp, prefix="upload-")
        self._fd = fd
        #: The temporary file, readable while it is written.
        self.path = Path(name)
        self._closed = False
        #: Whether writes go through O_DIRECT; None until the first write.
        self._direct: bool | None = None
        #: Bytes written so far.
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (see the class docstring for O_DIRECT's rules)."""
        view = memoryview(data).cast("B")
        if self._direct is None:
            self._direct = len(view) >= ALIGN and not len(view) % ALIGN and _enable_direct(self._fd)
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
        for :meth:`discard`: it holds the same bytes (it was verified the same
        way and renamed into place whole), and replacing it would only make the
        file system free a file as large as the upload while the client waits.
        """
        final = self._store.path_for(cid)
        with contextlib.suppress(OSError):
            if final.stat().st_size == self.size:
                os.close(self._fd)
                self._closed = True
                return final
        os.fsync(self._fd)
        os.close(self._fd)
        self._closed = True
        final.parent.mkdir(exist_ok=True)
        os.replace(self.path, final)
        _fsync_dir(final.parent)
        return final

    def discard(self) -> None:
        """Forget the bytes; safe to call more than once or after commit."""
        if not self._closed:
            os.close(self._fd)
            self._closed = True
        self.path.unlink(missing_ok=True)


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
