"""Finding journals, and reading one from other threads while a run writes it.

Which journals exist (every kind, as ``status`` lists them; a push's for some
PATHs), and :class:`KnownFiles`, the read-only per-thread lookups the root-CID
walk uses. Where a journal lives is :mod:`.paths`'s.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..fs import FileIdentity
from ..unixfs.node import cid_from_str
from .packed import unpack_cid
from .paths import default_journal_path, journal_dirs
from .pins import PIN_COUNTS
from .schema import Kind, kind_of, version_of
from .walk_rows import WalkRows

if TYPE_CHECKING:
    from ..push.options import PushOptions

__all__ = ["FoundJournal", "KnownFiles", "all_journals", "journals_for", "read_found"]

#: What ``status`` counts of each kind of journal: its rows by state (or outcome).
_COUNTED = {
    "push": "SELECT state, COUNT(*) FROM files GROUP BY state",
    "pin": PIN_COUNTS,
    "verify": "SELECT COALESCE(outcome, 'unchecked'), COUNT(*) FROM verified GROUP BY 1",
}
#: ... and the names it shows: PATHs pushed, sources of CIDs (a verification has none).
_NAMED = {
    "push": "SELECT path FROM roots ORDER BY id",
    "pin": "SELECT path FROM roots ORDER BY path",
}
#: A pin journal a run has not yet upgraded (schema 2, 3) has its CIDs in ``pins``.
_OLD_PIN = ("SELECT state, COUNT(*) FROM pins GROUP BY state", "SELECT DISTINCT source FROM pins")


@dataclass(frozen=True, slots=True)
class FoundJournal:
    """A journal on disk, as far as its meta and counts say (read without opening it for a run)."""

    path: Path
    #: Who it is bound to, as shown (``cloud (account ...)``), or None.
    destination: str | None
    #: The destination's key (:attr:`~bulkpin.destination.Destination.key`), or None.
    destination_key: str | None
    #: ``push``, ``pin`` or ``verify``: the command whose journal it is.
    kind: Kind
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
            kind = kind_of(meta)
            counted, named = _OLD_PIN if kind == "pin" and version_of(conn) in ("2", "3") \
                else (_COUNTED[kind], _NAMED.get(kind))
            names = [os.fsdecode(r[0]) if isinstance(r[0], bytes) else str(r[0])
                     for r in conn.execute(named)] if named is not None else []
            counts = {str(state): int(n) for state, n in conn.execute(counted)}
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return FoundJournal(path, meta.get("destination_label"), meta.get("destination"), kind,
                        meta.get("shard") or None, counts, names)


def all_journals() -> Iterator[tuple[Path, FoundJournal | None]]:
    """Every journal in the user's state directories, of every kind (None: not one)."""
    for base in journal_dirs():
        for path in sorted(base.glob("**/*.sqlite")):
            yield path, read_found(path)


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
