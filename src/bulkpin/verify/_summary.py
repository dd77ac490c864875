"""How a verification ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.snapshot import Snapshot
from ..core.summary import RunSummary

__all__ = ["VerifySummary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifySummary(RunSummary):
    """How a run ended; what every run says is :class:`~bulkpin.core.summary.RunSummary`'s.

    ``counts`` are this run's CIDs per outcome, ``unchecked``, and ``changed``
    files; ``failures`` the first findings that are not "retrievable".
    """

    source: str
    gateways: tuple[str, ...]
    snapshot: Snapshot
    report: Path | None
    #: Gateways that served a block not matching its CID, with how many CIDs each.
    corrupt_gateways: dict[str, int] = field(default_factory=dict)
    sample: str | None = None
