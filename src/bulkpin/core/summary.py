"""How a run ended, whatever its kind: the fields every summary has.

``push``'s, ``pin``'s and ``verify``'s summaries add only their own (the
snapshot of their counters, root CIDs, gateways...). Keyword-only, so each
kind adds fields without minding the order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..destination import Destination
from .errors import ExitStatus

if TYPE_CHECKING:
    from ..push.account_index import ListingCost

__all__ = ["MoveSummary", "RunSummary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """How a run ended. ``exit_status`` follows the CLI's convention."""

    exit_status: ExitStatus
    reason: str
    #: Journal rows per state, and what the kind counts besides (bad lines...).
    counts: dict[str, int]
    journal: Path
    #: ``(what, why)`` of the first things that failed.
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveSummary(RunSummary):
    """How a run that moved items to an account ended (``push``, ``pin``)."""

    manifest: Path | None
    poll_requests: int = 0
    poll_rounds: int = 0
    #: What listing the account cost (None: not listed).
    listing: ListingCost | None = None
    destination: Destination | None = None
