"""Manifests after the run: reading them back, joining shards (``bulkpin manifest``).

- :mod:`.rows`: reading and writing rows, JSON Lines or CSV, as push writes them;
- :mod:`.merge`: joining shard manifests and computing the tree's root from their rows.

Writing a run's manifest from its journal stays with the push pipeline
(:mod:`bulkpin.push.manifest`); this package never needs the journal.
"""

from .merge import COUNTED, MergeConflict, MergedRoot, MergeResult, merge_manifests
from .rows import ManifestReadError, ManifestWriter, format_of, read_rows

__all__ = [
    "COUNTED",
    "ManifestReadError",
    "ManifestWriter",
    "MergeConflict",
    "MergeResult",
    "MergedRoot",
    "format_of",
    "merge_manifests",
    "read_rows",
]
