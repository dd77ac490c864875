"""What names a ``pin`` run's source across runs: the key of its default journal.

Where that journal lives is :func:`bulkpin.journal.default_pin_journal_path`'s
business (one per destination, source and shard, as ``push``'s).
"""

from __future__ import annotations

import os

from ..sources import STDIN, CidListSource, PinSource
from .cid_args import CidArguments

__all__ = ["source_key"]


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
