"""The workers of ``push --processes N`` seen as one run: their snapshots and listings summed.

Counts add; the run is as old as its oldest worker, done walking when every
worker is, stopping when any is. Summed field by field from the snapshot
type's own fields, so a counter added to :class:`~bulkpin.core.events.Snapshot`
adds here too without a change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..core.accounting import TRANSFERS_SHOWN
from ..core.events import Snapshot
from .account_index import ListingCost

__all__ = ["merged_listing", "merged_snapshot"]

#: The fields that do not add, and how they join.
_LATEST = frozenset({"elapsed"})          # the oldest worker's age
_ALL = frozenset({"walk_done"})           # done when every worker is
_SOONEST = frozenset({"gives_up_in"})     # the first job given up on


def merged_snapshot(snapshots: Sequence[Snapshot]) -> Snapshot:
    """One snapshot of every worker's (at least one)."""
    joined: dict[str, Any] = {}
    for field in dataclasses.fields(Snapshot):
        values = [getattr(s, field.name) for s in snapshots]
        name = field.name
        if name in _LATEST:
            joined[name] = max(values)
        elif name in _ALL:
            joined[name] = all(values)
        elif name in _SOONEST:
            known = [v for v in values if v is not None]
            joined[name] = min(known) if known else None
        elif name == "transfers":
            every = [t for s in snapshots for t in s.transfers]
            joined[name] = tuple(sorted(every, key=lambda t: -t.size)[:TRANSFERS_SHOWN])
        elif isinstance(values[0], bool):
            joined[name] = any(values)
        else:
            joined[name] = sum(values)
    return Snapshot(**joined)


def merged_listing(listings: Sequence[ListingCost | None]) -> ListingCost | None:
    """What listing the account cost every worker, and what it held before this run.

    Requests add. What the account held is the first listing's (the one that
    saw the fewest pins): a worker listing later sees what the others sent.
    """
    known = [cost for cost in listings if cost is not None]
    if not known:
        return None
    first = min(known, key=lambda c: (c.pins_total, c.jobs_seen))
    return dataclasses.replace(first, requests=sum(c.requests for c in known),
                               rebuilt=any(c.rebuilt for c in known),
                               seconds=max(c.seconds for c in known))
