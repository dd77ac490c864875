"""The workers of ``push --processes N`` seen as one run: their listings summed.

Their snapshots are summed by :func:`bulkpin.core.snapshot.merge`, which every
kind of run shares.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .account_index import ListingCost

__all__ = ["merged_listing"]

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
