"""Paging by offset through a listing that changes while it is read, missing nothing.

``pinJobs`` and ``pinList`` page only by ``offset`` over a sorted set. While
the set is read, items leave it (a queued job starts pinning, a pinning job is
pinned, a pin is removed): every later item moves down by one place, and the
item that was at a page boundary falls into no page at all. Asking again for
the whole set until two passes agree would double every listing; asking
``pinJobs?pin-hash=`` for each CID in neither list costs a request per CID.
Instead, :func:`stable_pages` makes consecutive pages **overlap** by
:data:`OVERLAP` items and checks **continuity**: the first item of a page (past
the first) must be one already read. If it is, the page starts at or before
the last item read, so no item between the two pages was skipped, however many
left the set meanwhile. If it is not, more items left than the overlap covers:
the page is read again from a page further back, until one starts with an item
already read (offset 0 always does).

Why it is exact: the set is kept in one order (by date, then id), items leave
it anywhere and new ones join at the end. Every item that stayed in the set
from start to end lies, in that order, either before the first item of a page
that starts with an item already read (and was read before) or inside that
page or a later one. An item that left the set during the listing is no longer
pending: the listing that follows (``pinList`` after ``pinJobs``) sees it where
it went.

Cost: a page advances by ``limit - OVERLAP`` items, so 1,000 items take about
1.11 requests instead of 1.0, plus one request per step back (only when more
than :data:`OVERLAP` items left the set between two requests).

A listing that does not converge (a ``Count`` that keeps one page ahead, a
service that ignores ``offset``) is stopped with :class:`ListingDiverged` once
it has read twice the pages its first ``Count`` needs, and some to spare for
items that join while it runs. Memory is bounded: only the keys of the last
few pages are kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Final, TypeVar

__all__ = ["OVERLAP", "ListingDiverged", "stable_pages"]

T = TypeVar("T")

#: Items each page repeats of the one before: how many may leave the set between
#: two requests before a page has to be read again from further back.
OVERLAP: Final = 100

#: Pages whose keys are remembered to check continuity (bounded memory).
_REMEMBERED_PAGES: Final = 4

#: Extra pages allowed beyond what the first ``Count`` implies, for items that
#: join while the listing runs and for steps back.
_SLACK_PAGES: Final = 20


class ListingDiverged(Exception):
    """A paged listing that does not converge (a service that keeps moving its ``Count``)."""


async def stable_pages(
    fetch: Callable[[int, int], Awaitable[tuple[int, Sequence[T]]]],
    key: Callable[[T], str],
    *,
    limit: int,
    what: str,
    overlap: int = OVERLAP,
) -> AsyncIterator[Sequence[T]]:
    """Every item of a listing, in pages of those not yet yielded (see the module).

    ``fetch(offset, limit)`` returns ``(count, items)`` of one page; ``key``
    names an item uniquely (a job or pin id). ``what`` names the listing in a
    :class:`ListingDiverged` message. An item may be yielded twice only if it
    left the remembered pages' window and came back, which callers store
    idempotently anyway.
    """
    if not 0 <= overlap < limit:
        raise ValueError("the overlap must be at least 0 and less than the page size")
    step = limit - overlap
    offset = 0
    recent: deque[set[str]] = deque(maxlen=_REMEMBERED_PAGES)
    first_count: int | None = None
    pages = 0
    while True:
        count, items = await fetch(offset, limit)
        pages += 1
        if first_count is None:
            first_count = count
        elif pages > 2 * -(-first_count // step) + _SLACK_PAGES:
            raise ListingDiverged(
                f"the {what} listing does not converge: {pages} pages read where its first"
                f" count ({first_count}) needs {-(-first_count // step)}; the service's Count"
                f" keeps moving (now {count})"
            )
        keys = [key(item) for item in items]
        if offset > 0 and keys and not any(keys[0] in page for page in recent):
            # More items left the set than the overlap covers: some item between
            # the last page and this one may be in neither. Read from further back.
            offset = max(0, offset - step)
            continue
        fresh = [item for item, k in zip(items, keys, strict=True)
                 if not any(k in page for page in recent)]
        if fresh:
            yield fresh
        if not items or offset + len(items) >= count:
            return
        recent.append(set(keys))
        # A service may answer fewer items than asked for: overlap what came.
        offset += max(1, len(items) - overlap)
