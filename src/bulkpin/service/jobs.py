"""The pin-job worker: moves jobs ``queued`` -> ``pinning`` -> ``pinned``/``failed``.

It sleeps until the earliest job is due or until a handler signals new work,
then advances every due job in one transaction. Its whole state is in the
database, so after a restart the jobs that were in flight simply carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from ..unixfs.node import DAG_PB, IDENTITY, RAW, cid_from_str, decode_node, parse_cid
from .config import RETRY_WINDOW
from .db import Database
from .errors import no_space
from .state import ServiceState

log = logging.getLogger("bulkpin.service")


@functools.lru_cache(maxsize=1024)
def inline_size(cid: str) -> int | None:
    """The size of the content inside ``cid`` (identity multihash), or None if not all inside.

    Such a CID's "digest" is the block itself, so a ``pinByHash`` of one needs
    nothing fetched: that is so for a raw block, and for a dag-pb node without
    links (a small file ``ipfs add --inline`` made); a node with links names
    other blocks, which must still be found.
    """
    try:
        parts = parse_cid(cid_from_str(cid))
        if parts.hash_code != IDENTITY:
            return None
        if parts.codec == RAW:
            return len(parts.digest)
        if parts.codec != DAG_PB:
            return None
        node = decode_node(parts.digest)
    except ValueError:
        return None
    if node.links:
        return None
    return node.filesize if node.filesize is not None else len(node.data)

#: How often a pinByHash job without content looks again (content arriving by
#: upload wakes it at once anyway).
POLL_MS = 1000
#: Back-off after an unexpected error, so a broken disk does not spin the loop.
_ERROR_PAUSE = 1.0


class JobWorker:
    """Runs until cancelled."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state
        #: Whether the last pass failed on a full disk (said once, not per pass).
        self._out_of_space = False

    def _content_size(self, cid: str) -> int | None:
        """The size of ``cid``'s content if the service has it: inside the CID, or stored."""
        size = inline_size(cid)
        return size if size is not None else self._state.blobs.size(cid)

    def _failed(self, exc: Exception) -> None:
        """Log a failed pass: a full disk in one line when it starts, else the traceback.

        A full disk fails every pass (one a second) until the operator makes
        room; a traceback each time would bury the one line that says so.
        """
        if not no_space(exc):
            log.exception("job worker")
        elif not self._out_of_space:
            self._out_of_space = True
            log.error("job worker: no space left in %s; jobs wait until there is room (%s)",
                      self._state.config.data_dir, exc)

    async def run(self) -> None:
        """Advance jobs forever."""
        state = self._state
        await state.db.run(Database.wake_failed, state.now_ms(), RETRY_WINDOW * 1000)
        while True:
            # Clear before looking, so work signalled meanwhile is not missed.
            state.jobs_changed.clear()
            try:
                done = await state.db.run(
                    Database.advance_jobs, state.now_ms(), state.step_ms, POLL_MS,
                    RETRY_WINDOW * 1000, self._content_size,
                )
                if self._out_of_space:
                    self._out_of_space = False
                    log.warning("job worker: there is room again; jobs advance")
                if done:
                    continue
                next_due = await state.db.run(Database.next_due)
            except Exception as exc:
                self._failed(exc)
                await asyncio.sleep(_ERROR_PAUSE)
                continue
            timeout = None if next_due is None else max(0.0, (next_due - state.now_ms()) / 1000)
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that
            # lands as the event is set, and stop() then waits for the next wake-up.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await state.jobs_changed.wait()
