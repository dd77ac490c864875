"""How a verification ended: the summary its caller gets and the CLI renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..push.errors import ExitStatus
from ._events import VerifySnapshot

__all__ = ["VerifySummary"]


@dataclass(frozen=True, slots=True)
class VerifySummary:
    """How a run ended. ``exit_status`` follows the CLI's convention."""

    exit_status: ExitStatus
    reason: str
    source: str
    gateways: tuple[str, ...]
    snapshot: VerifySnapshot
    #: This run's CIDs per outcome, ``unchecked``, and ``changed`` files.
    counts: dict[str, int]
    journal: Path
    report: Path | None
    #: ``(what, why)`` of the first findings that are not "retrievable".
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Gateways that served a block not matching its CID, with how many CIDs each.
    corrupt_gateways: dict[str, int] = field(default_factory=dict)
    sample: str | None = None
