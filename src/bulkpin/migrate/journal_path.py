"""Where a ``pin`` run keeps its journal by default: one per destination, source and shard.

Re-running the same command resumes it; the same source migrated to another
account gets a journal of its own (a directory per destination, as ``push``'s).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from ..sources import STDIN, CidListSource, PinSource
from .cid_args import CidArguments

if TYPE_CHECKING:
    from ..destination import Destination
    from ..fs import Shard

__all__ = ["default_pin_journal_path", "source_key"]


def source_key(source: PinSource, spec: str | None = None) -> str:
    """What names ``source`` across runs: a CID list by its absolute path, a service by URL.

    Standard input has one journal (``cat list | bulkpin pin --from -`` twice
    resumes); CIDs given as arguments are named by the sorted set.
    """
    if isinstance(source, CidArguments):
        return source.key
    if isinstance(source, CidListSource) and spec is not None and spec.strip() != STDIN:
        return "file\0" + os.path.abspath(os.path.expanduser(spec.strip()))
    return source.label


def default_pin_journal_path(key: str, shard: Shard | None,
                             destination: Destination | None = None) -> Path:
    """The journal of source ``key`` (:func:`source_key`), shard and destination."""
    digest = hashlib.sha256(b"pin\0" + key.encode("utf-8", "surrogateescape"))
    if shard is not None:
        digest.update(f"\0shard {shard.index}/{shard.count}".encode())
    journals = Path(platformdirs.user_state_dir("bulkpin")) / "journals"
    if destination is not None:
        journals /= destination.key
    return journals / f"pin-{digest.hexdigest()[:20]}.sqlite"
