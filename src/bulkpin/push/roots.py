"""Each PATH's root CID, as ``bulkpin cid -r`` would give it, without reading files again.

The tree is walked once more (directories only cost a listing); every file the
journal recorded, unchanged since, contributes its recorded CID and the DAG
size its length implies, so only files the run did not hash are read. A run
that took part of the tree (filters, ``--shard``) has no root CID to give.
"""

from __future__ import annotations

import os

from ..unixfs import FileResult, TreeEntry, TreeImporter
from ..unixfs.file_builder import file_tsize
from .journal import Journal
from .journal_lookup import KnownFiles
from .options import PushOptions

__all__ = ["root_cids"]


def _takes_part(options: PushOptions) -> bool:
    sel = options.selection
    return bool(
        sel.include or sel.exclude or sel.shard is not None
        or sel.min_size is not None or sel.max_size is not None
        or sel.min_age is not None or sel.max_age is not None
    )


def root_cids(
    roots: list[bytes], options: PushOptions, journal: Journal
) -> list[tuple[str, str | None]]:
    """Compute, record and return ``(PATH, root CID or None)`` for every PATH argument."""
    out: list[tuple[str, str | None]] = []
    known_files = KnownFiles(journal.path)
    profile = options.profile

    def known(path: bytes, st: os.stat_result) -> FileResult | None:
        found = known_files.cid_bytes_if_unchanged(path, st)
        if found is None:
            return None
        cid, size = found
        return FileResult(cid, size, file_tsize(size, profile))

    for root in roots:
        root_id = journal.root_id(root)
        name = os.fsdecode(root)
        if _takes_part(options):
            journal.set_root_cid(root_id, None, "not computed: filters or --shard select"
                                 " part of the tree")
            out.append((name, None))
            continue
        importer = TreeImporter(profile, recursive=True, hidden=options.hidden,
                                hash_workers=options.hash_workers, known=known)
        base = os.path.basename(root.rstrip(b"/")) or root
        root_cid, first_error = None, None
        for result in importer.run([root]):
            if isinstance(result, TreeEntry):
                if result.path == base:
                    root_cid = result.cid
            elif first_error is None:
                first_error = f"{os.fsdecode(result.path)}: {result.message}"
        journal.set_root_cid(root_id, root_cid, None if root_cid else first_error)
        out.append((name, root_cid))
    journal.commit()
    return out
