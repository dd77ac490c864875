"""The listing stage: the source's entries, sharded, recorded and sorted, to the workers.

Reads the source (a :class:`~bulkpin.sources.PinSource`, bounded memory),
keeps this shard's CIDs (``--shard I/N``, by a hash of the CID), records a
bad entry with its line number and goes on, and hands what needs a request to
the workers over a bounded stream, so requests start with the first page.

A failing source (refused token, garbage, 429 or 5xx after the reader's own
retries) stops the listing, never the requests already listed: the run ends
resumable (exit 3) once those are done, with the source's own message. It is
*not* put to :func:`~bulkpin.client.classify_item`, which speaks of the
destination ("the service refused the credentials").

Resuming a Pinning Service API listing: the listing records, with the
journal's other writes (so in the same commits), the ``created`` time of the
newest pin it met (``top``) and of the last one it recorded (``resume``). A
run that finds a ``resume`` left by a stopped listing lists from there
(``before=``) to the end, then only what the source gained since (``after=``
``top``), instead of the whole account again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Final

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from ..client import DecooError
from ..fs import Shard
from ..journal import PinJournal
from ..sources import BadLine, PinItem, PinSource
from .accounting import PinAccounting
from .events import BadLineEvent
from .plan import Planner, WorkItem

__all__ = ["Lister", "Relister", "SourceFailed"]

log = logging.getLogger(__name__)

#: Lists the same source from a point: ``relist(before=…, after=…)`` (inclusive
#: ``created`` times, as :class:`~bulkpin.sources.PsaSource` takes them).
Relister = Callable[..., PinSource]

#: Items between two records of the resume point (it only has to be behind).
_RESUME_EVERY: Final = 200


@dataclass(frozen=True, slots=True)
class SourceFailed:
    """Why the listing stopped early."""

    message: str


class Lister:
    """The source stage of one run."""

    def __init__(self, source: PinSource, journal: PinJournal, planner: Planner,
                 accounting: PinAccounting, stop: anyio.Event, *, shard: Shard | None,
                 relist: Relister | None = None) -> None:
        self.source = source
        self.journal = journal
        self.planner = planner
        self.acct = accounting
        self.stop = stop
        self.shard = shard
        self.relist = relist
        self.failed: SourceFailed | None = None
        label = source.label
        self._top_key = f"listing top {label}"
        self._resume_key = f"listing resume {label}"

    async def run(self, work: MemoryObjectSendStream[WorkItem]) -> None:
        """List, record and hand on, until the source ends, fails, or the run stops."""
        async with work:
            try:
                completed = await self._listings(work)
            except DecooError as exc:
                # The source's own retries are spent: say what it answered.
                label = self.source.label
                where = "" if label in exc.message else f" {label}"
                self.failed = SourceFailed(f"cannot list the source{where}: {exc.message}")
                log.info("%s", self.failed.message)
                return
            finally:
                self.journal.commit()
            self.acct.listing_done = completed

    async def _listings(self, work: MemoryObjectSendStream[WorkItem]) -> bool:
        resume = self.journal.meta(self._resume_key) or None
        top = self.journal.meta(self._top_key) or None
        if self.relist is not None and resume is not None and top is not None:
            # Finish the listing a stopped run began, then take what came since.
            if not await self._list(self.relist(before=resume), work, track=True):
                return False
            self.journal.set_meta(self._resume_key, "")
            return await self._list(self.relist(after=top), work, track=False)
        self.journal.start_listing(self.source.label)
        return await self._list(self.source, work, track=self.relist is not None, fresh=True)

    async def _list(self, source: PinSource, work: MemoryObjectSendStream[WorkItem], *,
                    track: bool, fresh: bool = False) -> bool:
        """One pass over ``source``; False if the run stopped first."""
        label = self.source.label
        n = 0
        async with aclosing(aiter(source)) as entries:
            async for entry in entries:
                if self.stop.is_set():
                    return False
                if isinstance(entry, BadLine):
                    self.journal.record_bad_line(label, entry)
                    self.acct.bad_line(BadLineEvent(entry.origin, entry.line, entry.text,
                                                    entry.reason))
                    continue
                n += 1
                if track and entry.created is not None:
                    self._track(entry, first=fresh and n == 1, due=n % _RESUME_EVERY == 0)
                if self.shard is not None and not self.shard.takes(entry.cid.encode()):
                    continue
                item = self.planner.plan(entry, label)
                if item is not None:
                    await work.send(item)
                self.journal.commit_if_due()
        if track:
            self.journal.set_meta(self._resume_key, "")
        return True

    def _track(self, entry: PinItem, *, first: bool, due: bool) -> None:
        assert entry.created is not None
        if first:
            self.journal.set_meta(self._top_key, entry.created)
        if due or first:
            # Behind the item being handled: what follows it is not recorded yet.
            self.journal.set_meta(self._resume_key, entry.created)
