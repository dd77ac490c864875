"""Where a run keeps its journal by default: one place, whatever the kind of run.

A journal is keyed by what the run was given (PATHs and profile, a source, an
input and sample), its shard, and the destination it talks to: re-running a
command resumes it; the same input sent to another account gets a journal of
its own (a directory per destination). Verification journals belong to no
destination and live in a directory of their own. The keys are those every
earlier bulkpin used, so its journals are found where they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from .schema import Kind

if TYPE_CHECKING:
    from ..destination import Destination
    from ..fs import Shard
    from ..push.options import PushOptions

__all__ = [
    "default_journal_path", "default_pin_journal_path", "default_verify_journal_path",
    "journal_dirs", "journal_path",
]


def journal_dirs() -> tuple[Path, Path]:
    """The directories of the user's journals: push's and pin's, then verify's."""
    state = Path(platformdirs.user_state_dir("bulkpin"))
    return state / "journals", state / "verifications"


def journal_path(kind: Kind, key: Iterable[bytes],
                 destination: Destination | None = None) -> Path:
    """The journal of a ``kind`` of run whose key is the digest of the ``key`` pieces."""
    digest = hashlib.sha256()
    for piece in key:
        digest.update(piece)
    runs, verifications = journal_dirs()
    base = verifications if kind == "verify" else runs
    if destination is not None:
        base /= destination.key
    prefix = "" if kind == "push" else f"{kind}-"
    return base / f"{prefix}{digest.hexdigest()[:20]}.sqlite"


def _shard(shard: Shard | None, sep: bytes = b"\0") -> list[bytes]:
    return [] if shard is None else [sep + f"shard {shard.index}/{shard.count}".encode()]


def default_journal_path(roots: Sequence[bytes], options: PushOptions,
                         destination: Destination | None = None) -> Path:
    """A push's journal: one per destination, set of PATHs, CID profile and shard."""
    return journal_path("push", [*(root + b"\0" for root in sorted(roots)),
                                 options.profile.name.encode(),
                                 *_shard(options.selection.shard, b"")], destination)


def default_pin_journal_path(key: str, shard: Shard | None,
                             destination: Destination | None = None) -> Path:
    """A pin's journal: one per source (named by ``key``), shard and destination."""
    return journal_path("pin", [b"pin\0" + key.encode("utf-8", "surrogateescape"),
                                *_shard(shard)], destination)


def default_verify_journal_path(key: str, sample: object | None = None) -> Path:
    """A verification's journal: one per input (named by ``key``) and sample."""
    return journal_path("verify", [b"verify\0" + key.encode("utf-8", "surrogateescape"),
                                   *([] if sample is None else [f"\0sample {sample}".encode()])])
