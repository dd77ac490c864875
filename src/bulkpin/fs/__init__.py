"""The local filesystem, with no network: walking trees, choosing files, telling change.

- :mod:`._walk`: a streaming, depth-first walk shared by ``cid`` and ``push``;
- :mod:`._selection`: glob filters, size bounds and ``--shard`` shares;
- :mod:`._candidates`: PATH arguments or a ``--files-from`` list to the files a run considers;
- :mod:`._identity`: whether a file is still the one that was seen;
- :mod:`._fingerprint`: a digest of a tree as a walk saw it.

Names are imported on first use (:mod:`bulkpin._lazy`): ``bulkpin cid`` needs
the walk alone.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._candidates import Candidate, batched, files_from, walk_candidates
    from ._fingerprint import TreeFingerprint
    from ._identity import ChangedWhileRead, FileIdentity, check_still_at
    from ._selection import Selection, SelectionError, Shard
    from ._walk import WalkEntry, describe_os_error, walk

__all__ = [
    "Candidate",
    "ChangedWhileRead",
    "FileIdentity",
    "Selection",
    "SelectionError",
    "Shard",
    "TreeFingerprint",
    "WalkEntry",
    "batched",
    "check_still_at",
    "describe_os_error",
    "files_from",
    "walk",
    "walk_candidates",
]

_EXPORTS = {
    "Candidate": "._candidates",
    "batched": "._candidates",
    "files_from": "._candidates",
    "walk_candidates": "._candidates",
    "ChangedWhileRead": "._identity",
    "FileIdentity": "._identity",
    "check_still_at": "._identity",
    "Selection": "._selection",
    "SelectionError": "._selection",
    "Shard": "._selection",
    "TreeFingerprint": "._fingerprint",
    "WalkEntry": "._walk",
    "describe_os_error": "._walk",
    "walk": "._walk",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
