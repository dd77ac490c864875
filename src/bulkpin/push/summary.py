"""How a push ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.snapshot import Snapshot
from ..core.summary import MoveSummary

__all__ = ["PushSummary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PushSummary(MoveSummary):
    """How a push ended (what every run's summary says: :class:`~.run_summary.MoveSummary`)."""

    snapshot: Snapshot
    roots: list[tuple[str, str | None]] = field(default_factory=list)
    #: Why a root has no CID (filters or --shard took part of the tree...), by its path.
    root_errors: dict[str, str] = field(default_factory=dict)
    #: A dry run: ``counts`` are of its scratch copy of the journal, not of the journal.
    dry_run: bool = False
