"""The item tier of retries: one item tried again after a pause, failed, or the run stopped.

DESIGN's three tiers: the client retries a request (tenacity policies in
:mod:`bulkpin.client.retry`); this module takes what is left of a failed item
(a file, an object, a CID, the account's listing) to its fate by the one
classifier (:func:`bulkpin.client.classify_item`); the next run resumes the
rest. Every mover and the account listing use this, so the backoff, the
patience and the way a stop cuts a pause short are the same everywhere.

While the service keeps failing, waiting items take turns, each after its
pause: a dead service sees a trickle however many workers there are, not one
retry per worker. Once anything succeeds (``outage.success()``), the others go
at once. A stop asked during a pause ends the pause: the run is stopping.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Final

import anyio

from ..client import DecooError, Fate, classify_item, full_jitter
from .errors import ExitStatus, RunAborted
from .pacing import Outage

__all__ = ["ITEM_BACKOFF_BASE", "ITEM_BACKOFF_CAP", "ItemRetry"]

log = logging.getLogger(__name__)

#: Seconds before an item's first retry; doubled (with full jitter) each time.
ITEM_BACKOFF_BASE: Final = 0.5
#: The longest pause between two tries of an item.
ITEM_BACKOFF_CAP: Final = 30.0


class ItemRetry:
    """What happens to an item after its request failed, for every worker of a run."""

    def __init__(self, outage: Outage, *, stop: anyio.Event | None = None,
                 rng: random.Random | None = None,
                 on_retry: Callable[[], None] | None = None) -> None:
        self.outage = outage
        self.stop = stop
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._on_retry = on_retry
        self._pace = anyio.Lock()

    async def after_error(self, exc: DecooError, attempt: int, *, what: str,
                          fail: Callable[[str], None], abort_prefix: str = "") -> bool:
        """Apply the verdict on ``exc``: True to try the item again (after a pause).

        ``fail(reason)`` records the item failed. Raises :class:`RunAborted`:
        exit 2 when no request can succeed (refused credentials, configuration;
        its message starts with ``abort_prefix``), exit 3 once the outage
        outlasts the patience.
        """
        verdict = classify_item(exc)
        if verdict.fate is Fate.STOP_RUN:
            if verdict.fail_item:
                fail(str(exc))
            raise RunAborted(abort_prefix + verdict.reason, ExitStatus.USAGE) from exc
        if verdict.fate is Fate.FAIL_ITEM:
            self.outage.success()  # the service answered
            fail(verdict.reason)
            return False
        self.outage.failure(exc)
        if self._on_retry is not None:
            self._on_retry()
        delay = full_jitter(attempt, ITEM_BACKOFF_BASE, ITEM_BACKOFF_CAP, self._rng)
        log.info("%s: will try again in %.1f s: %s", what, delay, exc)
        async with self._pace:
            if self.outage.failing:
                await self._pause(delay)
        return True

    async def _pause(self, delay: float) -> None:
        if self.stop is None:
            await anyio.sleep(delay)
            return
        with anyio.move_on_after(delay):
            await self.stop.wait()
