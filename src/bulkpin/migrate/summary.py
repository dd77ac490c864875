"""How a ``pin`` run ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.snapshot import Snapshot
from ..core.summary import MoveSummary

__all__ = ["PinSummary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PinSummary(MoveSummary):
    """How a run ended; what every run says is :class:`~bulkpin.core.summary.MoveSummary`'s.

    ``counts`` has ``bad`` (bad lines) besides the journal's states;
    ``failures`` are bad lines (``cids.txt:12``) and failed CIDs.
    """

    source: str
    snapshot: Snapshot
    #: pinByHash calls made by this run.
    pin_requests: int = 0
