"""How a push ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.snapshot import Snapshot
from ..core.summary import MoveSummary
from ..units import human_bytes

__all__ = ["PushSummary", "dry_run_reason"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PushSummary(MoveSummary):
    """How a push ended (what every run's summary says: :class:`~.run_summary.MoveSummary`)."""

    snapshot: Snapshot
    roots: list[tuple[str, str | None]] = field(default_factory=list)
    #: Why a root has no CID (filters or --shard took part of the tree...), by its path.
    root_errors: dict[str, str] = field(default_factory=dict)
    #: A dry run: ``counts`` are of its scratch copy of the journal, not of the journal.
    dry_run: bool = False


def dry_run_reason(snap: Snapshot, *, listed: bool) -> str:
    """How a dry run that went well ends: what it would send, and what it would not."""
    reason = (f"dry run: would upload {snap.count('would_send'):,} file(s),"
              f" {human_bytes(snap.count('would_send_bytes'))}; ")
    reason += (f"{snap.count('held'):,} already on the account" if listed
               else "the account was not listed")
    return reason + (f", {snap.count('unchanged'):,} unchanged,"
                     f" {snap.count('deduplicated'):,} copies")
