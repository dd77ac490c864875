"""How a ``pin`` run ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..destination import Destination
from ..push.account_index import ListingCost
from ..push.errors import ExitStatus
from .events import PinSnapshot

__all__ = ["PinSummary"]


@dataclass(frozen=True, slots=True)
class PinSummary:
    """How a run ended. ``exit_status`` follows the CLI's convention."""

    exit_status: ExitStatus
    reason: str
    source: str
    snapshot: PinSnapshot
    #: Journal rows per state, and ``bad`` (bad lines).
    counts: dict[str, int]
    journal: Path
    manifest: Path | None
    #: ``(what, why)``: bad lines (``cids.txt:12``) and failed CIDs.
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: pinByHash calls made by this run.
    pin_requests: int = 0
    poll_requests: int = 0
    poll_rounds: int = 0
    listing: ListingCost | None = None
    destination: Destination | None = None
