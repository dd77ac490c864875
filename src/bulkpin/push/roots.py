"""Each PATH's root CID, as ``bulkpin cid -r`` would give it, without reading files again.

The tree is walked once more (directories only cost a listing); every file the
journal recorded, unchanged since, contributes its recorded CID and the DAG
size its length implies, so only files the run did not hash are read. A run
that took part of the tree (filters, ``--shard``) has no root CID to give.

Most re-runs change nothing, and that walk would only print last run's CID
again (a quarter of a no-op re-run of many small files). So the CID is kept
with the fingerprint of the walk that computed it (:class:`~bulkpin.fs.TreeFingerprint`,
folded from that very walk's entries); the push's own walk folds one too
(:class:`WalkPrints`), and where the two agree, the recorded CID is the answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..fs import TreeFingerprint, WalkEntry
from ..journal import Journal, KnownFiles
from ..unixfs import FileResult, TreeEntry, TreeImporter
from ..unixfs.file_builder import file_tsize
from .options import PushOptions

__all__ = ["WalkPrints", "fingerprint_for", "root_cids"]


def _takes_part(options: PushOptions) -> bool:
    sel = options.selection
    return bool(
        sel.include or sel.exclude or sel.shard is not None
        or sel.min_size is not None or sel.max_size is not None
        or sel.min_age is not None or sel.max_age is not None
    )


def fingerprint_for(options: PushOptions, *, followed_root: bool = False) -> TreeFingerprint:
    """An empty fold for one PATH of a push with ``options`` (see :class:`TreeFingerprint`)."""
    # Two folds are only compared when made under the same profile and --hidden.
    salt = f"{options.profile!r} hidden={options.hidden}".encode()
    return TreeFingerprint(salt, followed_root=followed_root)


class WalkPrints:
    """The push walk's fingerprint of each PATH (by index), for :func:`root_cids` to check.

    Only a walk that sees what the CID's walk sees is folded: none with
    filters or ``--shard`` (no root CID then), none that follows symlinks
    (it reports a link's target where the CID's walk reports the link).
    """

    def __init__(self, options: PushOptions) -> None:
        self.enabled = not _takes_part(options) and not options.follow_symlinks
        self._options = options
        self._folds: dict[int, TreeFingerprint] = {}

    def observe(self, index: int) -> Callable[[WalkEntry], None]:
        """What folds the entries of the push's walk of PATH number ``index``."""
        # The push walk follows a root that is a symlink; the CID's walk does not.
        fold = self._folds[index] = fingerprint_for(self._options, followed_root=True)
        return fold.add

    def digest(self, index: int) -> bytes | None:
        """PATH ``index``'s fingerprint, if its walk ran to the end."""
        fold = self._folds.get(index)
        return None if fold is None else fold.digest


def root_cids(
    roots: list[bytes], options: PushOptions, journal: Journal, walked: WalkPrints | None = None
) -> list[tuple[str, str | None]]:
    """Compute, record and return ``(PATH, root CID or None)`` for every PATH argument.

    ``walked``: the push walk's fingerprints; a PATH whose fingerprint is the
    one recorded with its root CID gets that CID, and is not walked again.
    """
    out: list[tuple[str, str | None]] = []
    known_files: KnownFiles | None = None
    profile = options.profile

    def known(path: bytes, st: os.stat_result) -> FileResult | None:
        assert known_files is not None
        found = known_files.cid_bytes_if_unchanged(path, st)
        if found is None:
            return None
        cid, size = found
        return FileResult(cid, size, file_tsize(size, profile))

    for index, root in enumerate(roots):
        root_id = journal.root_id(root)
        name = os.fsdecode(root)
        if _takes_part(options):
            journal.set_root_cid(root_id, None, "not computed: filters or --shard select"
                                 " part of the tree")
            out.append((name, None))
            continue
        seen = walked.digest(index) if walked is not None and walked.enabled else None
        recorded = journal.root_cid_of_walk(root_id, seen) if seen is not None else None
        if recorded is not None:
            out.append((name, recorded))
            continue
        known_files = known_files or KnownFiles(journal.path)
        fold = fingerprint_for(options)
        importer = TreeImporter(profile, recursive=True, hidden=options.hidden,
                                hash_workers=options.hash_workers, known=known,
                                observe=fold.add)
        base = os.path.basename(root.rstrip(b"/")) or root
        root_cid, first_error = None, None
        for result in importer.run([root]):
            if isinstance(result, TreeEntry):
                if result.path == base:
                    root_cid = result.cid
            elif first_error is None:
                first_error = f"{os.fsdecode(result.path)}: {result.message}"
        journal.set_root_cid(root_id, root_cid, None if root_cid else first_error, fold.digest)
        out.append((name, root_cid))
    journal.commit()
    return out
