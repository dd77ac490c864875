"""How a push ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..destination import Destination
from .account_index import ListingCost
from .errors import ExitStatus
from .events import Snapshot

__all__ = ["PushSummary"]


@dataclass(frozen=True, slots=True)
class PushSummary:
    """How a push ended. ``exit_status`` follows the CLI's convention."""

    exit_status: ExitStatus
    reason: str
    snapshot: Snapshot
    counts: dict[str, int]
    journal: Path
    manifest: Path | None
    failures: list[tuple[str, str]] = field(default_factory=list)
    roots: list[tuple[str, str | None]] = field(default_factory=list)
    #: Why a root has no CID (filters or --shard took part of the tree...), by its path.
    root_errors: dict[str, str] = field(default_factory=dict)
    poll_requests: int = 0
    poll_rounds: int = 0
    #: What listing the account cost (None: not listed).
    listing: ListingCost | None = None
    destination: Destination | None = None
    #: A dry run: ``counts`` are of its scratch copy of the journal, not of the journal.
    dry_run: bool = False
