"""What an outcome is called in the verification journal and its report, and how it is kept.

The journal itself (:class:`bulkpin.journal.VerifyJournal`) stores words and
numbers; this module turns an :class:`~._outcomes.Outcome` into them.
"""

from __future__ import annotations

from ..journal import OUTCOMES, REPORT_COLUMNS, OutcomeName, VerifyJournal
from ._outcomes import Corrupt, Incomplete, Outcome, Retrievable, Unreachable, WrongSize

__all__ = [
    "OUTCOMES", "REPORT_COLUMNS", "OutcomeName", "VerifyJournal", "describe", "outcome_name",
    "record_outcome",
]


def outcome_name(outcome: Outcome) -> OutcomeName:
    """The journal's and the report's word for ``outcome``."""
    if isinstance(outcome, Retrievable):
        return "retrievable"
    if isinstance(outcome, Incomplete):
        return "incomplete"
    if isinstance(outcome, Corrupt):
        return "corrupt"
    if isinstance(outcome, WrongSize):
        return "wrong-size"
    return "unreachable"


def describe(outcome: Outcome) -> str | None:
    """Why ``outcome`` is not retrievable, in a line (None for retrievable)."""
    if isinstance(outcome, Corrupt):
        return f"block {outcome.block} from {outcome.gateway}: {outcome.reason}"
    if isinstance(outcome, WrongSize):
        return f"its root states {outcome.actual} bytes, not {outcome.expected}"
    if isinstance(outcome, Incomplete):
        return f"{len(outcome.missing)} block(s) missing"
    if isinstance(outcome, Unreachable):
        return "; ".join(f"{f.gateway}: {f.kind}" for f in outcome.failures) or "no gateway"
    return None


def record_outcome(journal: VerifyJournal, outcome: Outcome) -> None:
    """Keep what the gateways showed of a CID (commit with ``sync`` before telling it)."""
    retrievable = outcome if isinstance(outcome, Retrievable) else None
    journal.record(
        outcome.cid, outcome_name(outcome), gateway=getattr(outcome, "gateway", None),
        ttfb=retrievable.ttfb if retrievable else None,
        bytes_per_second=retrievable.bytes_per_second if retrievable else None,
        received=retrievable.bytes if retrievable else None,
        missing=outcome.missing if isinstance(outcome, Incomplete) else (),
        failures=[{"gateway": f.gateway, "kind": f.kind, "status": f.status,
                   "message": f.message} for f in getattr(outcome, "failures", ())],
        reason=describe(outcome),
    )
