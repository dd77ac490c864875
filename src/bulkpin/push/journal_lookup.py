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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from ..fs import FileIdentity
from ..unixfs.node import cid_from_str
from ._packed import unpack_cid
from .walk_rows import WalkRows

if TYPE_CHECKING:
    from ..destination import Destination
    from .options import PushOptions

__all__ = ["FoundJournal", "KnownFiles", "default_journal_path", "journals_for", "read_found"]

#: The ``profile`` meta of a ``bulkpin pin`` journal (:mod:`bulkpin.migrate.journal`).
PIN_JOURNAL_KIND = "pinByHash"


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


@dataclass(frozen=True, slots=True)
class FoundJournal:
    """A journal on disk, as far as its meta and counts say (read without opening it for a run)."""

    path: Path
    #: Who it is bound to, as shown (``cloud (account ...)``), or None.
    destination: str | None
    #: The destination's key (:attr:`~bulkpin.destination.Destination.key`), or None.
    destination_key: str | None
    #: ``push`` or ``pin`` (a ``bulkpin pin`` journal).
    kind: str
    #: ``I/N`` when its last run took one share of the tree.
    shard: str | None
    #: Rows (files, or CIDs) by state.
    counts: dict[str, int]
    #: The PATHs it was pushed from, or the sources a pin journal's CIDs came from.
    names: list[str]

    @property
    def items(self) -> int:
        """Rows it holds: 0 for a run that failed before its first."""
        return sum(self.counts.values())


def read_found(path: Path) -> FoundJournal | None:
    """What ``path`` says of itself, read-only, or None if it is no journal."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("profile") == PIN_JOURNAL_KIND:
                kind, table = "pin", "pins"
                names = [str(r[0]) for r in conn.execute("SELECT DISTINCT source FROM pins")]
            else:
                kind, table = "push", "files"
                names = [os.fsdecode(r[0]) for r in conn.execute("SELECT path FROM roots")]
            counts = {str(state): int(n) for state, n in conn.execute(
                f"SELECT state, COUNT(*) FROM {table} GROUP BY state")}  # noqa: S608
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return FoundJournal(path, meta.get("destination_label"), meta.get("destination"), kind,
                        meta.get("shard") or None, counts, names)


def journals_for(roots: Sequence[bytes], options: PushOptions) -> list[FoundJournal]:
    """The default journals of these PATHs, one per destination.

    For ``status``, which knows the PATHs but not (without starting the
    embedded service or asking for credentials) the account they went to.
    """
    name = default_journal_path(roots, options).name
    base = default_journal_path(roots, options).parent
    found = (read_found(path) for path in sorted(base.glob(f"*/{name}")))
    return [journal for journal in found if journal is not None]


class KnownFiles:
    """Read-only lookups of recorded files, from any thread (one connection per thread).

    The root-CID computation walks the tree again in worker threads and asks,
    per file, whether the journal already knows its CID; SQLite objects stay in
    the thread that made them, and WAL lets these readers run beside the writer.
    """

    def __init__(self, journal_path: Path) -> None:
        self.journal_path = journal_path
        self._local = threading.local()

    def _rows(self) -> WalkRows:
        rows: WalkRows | None = getattr(self._local, "rows", None)
        if rows is None:
            conn = sqlite3.connect(f"file:{self.journal_path}?mode=ro", uri=True)
            # Read in the walk's order, a page at a time: a lookup per file cost
            # more than the rest of a no-op re-run's root-CID walk.
            rows = WalkRows(lambda: conn, "name, size, mtime_ns, inode, cid")
            self._local.rows = rows
        return rows

    def _recorded(self, path: bytes, st: os.stat_result) -> tuple[bytes | str, int] | None:
        row = self._rows().find(path)
        if row is None or row[4] is None:
            return None
        if not FileIdentity(row[1], row[2], row[3]).matches(st):
            return None
        return row[4], int(row[1])

    def cid_if_unchanged(self, path: bytes, st: os.stat_result) -> tuple[str, int] | None:
        """The recorded CID and size of the file at ``path``, if ``st`` shows it unchanged."""
        found = self._recorded(path, st)
        return None if found is None else (unpack_cid(found[0]), found[1])

    def cid_bytes_if_unchanged(self, path: bytes,
                               st: os.stat_result) -> tuple[bytes, int] | None:
        """:meth:`cid_if_unchanged`, with the CID binary (what a directory's link holds).

        A CID the journal stores packed is its binary form already: no base58.
        """
        found = self._recorded(path, st)
        if found is None:
            return None
        cid, size = found
        return (cid if isinstance(cid, bytes) else cid_from_str(cid)), size
