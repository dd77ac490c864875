"""Finding journals, and reading one from other threads while a run writes it.

Where a push keeps its journal by default (one per destination, set of PATHs,
profile and shard), which journals exist for some PATHs, and
:class:`KnownFiles`, the read-only per-thread lookups the root-CID walk uses.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from ..fs import FileIdentity
from ._packed import unpack_cid
from ._schema import split_path

if TYPE_CHECKING:
    from ..destination import Destination
    from .options import PushOptions

__all__ = ["KnownFiles", "default_journal_path", "journals_for"]


def default_journal_path(roots: Sequence[bytes], options: PushOptions,
                         destination: Destination | None = None) -> Path:
    """A journal per destination, set of PATHs, profile and shard.

    Re-running a command resumes it; the same PATHs pushed to another account
    get a journal of their own (a directory per destination).
    """
    key = hashlib.sha256()
    for root in sorted(roots):
        key.update(root + b"\0")
    key.update(options.profile.name.encode())
    if options.selection.shard is not None:
        shard = options.selection.shard
        key.update(f"shard {shard.index}/{shard.count}".encode())
    journals = Path(platformdirs.user_state_dir("bulkpin")) / "journals"
    if destination is not None:
        journals /= destination.key
    return journals / f"{key.hexdigest()[:20]}.sqlite"


def journals_for(roots: Sequence[bytes], options: PushOptions) -> list[tuple[Path, str]]:
    """The default journals of these PATHs, one per destination: ``(path, destination)``.

    For ``status``, which knows the PATHs but not (without starting the
    embedded service or asking for credentials) the account they went to.
    """
    name = default_journal_path(roots, options).name
    base = default_journal_path(roots, options).parent
    found = []
    for path in sorted(base.glob(f"*/{name}")):
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = conn.execute(
                    "SELECT value FROM meta WHERE key = 'destination_label'"
                ).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            continue
        found.append((path, str(row[0]) if row else "an unknown destination"))
    return found


class KnownFiles:
    """Read-only lookups of recorded files, from any thread (one connection per thread).

    The root-CID computation walks the tree again in worker threads and asks,
    per file, whether the journal already knows its CID; SQLite objects stay in
    the thread that made them, and WAL lets these readers run beside the writer.
    """

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True)
            self._local.conn = conn
        return conn

    def cid_if_unchanged(self, path: bytes, st: os.stat_result) -> tuple[str, int] | None:
        """The recorded CID and size of the file at ``path``, if ``st`` shows it unchanged."""
        head, name = split_path(path)
        row = self._conn().execute(
            "SELECT size, mtime_ns, inode, cid FROM files JOIN dirs ON dirs.id = files.dir"
            " WHERE dirs.path = ? AND name = ?", (head, name)
        ).fetchone()
        if row is None or row[3] is None:
            return None
        if not FileIdentity(row[0], row[1], row[2]).matches(st):
            return None
        return unpack_cid(row[3]), int(row[0])
