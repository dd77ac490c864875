"""How the long commands (``push``, ``pin``) are stopped: the first signal asks, the second tells.

The first SIGINT or SIGTERM sets the run's ``stop`` event and says what
happens next (no new item starts, those in flight get their grace); a second
one cancels the run at once (its journal still commits on the way out). The
watcher starts before anything else, so a SIGTERM while the embedded service
or the client is still starting is a stop too, not a kill by the default
handler.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.lowlevel

from ..push import RunAborted
from . import EXIT_INTERRUPTED

__all__ = ["run_stoppable"]

T = TypeVar("T")


async def run_stoppable(run: Callable[[anyio.Event], Awaitable[T]], first_notice: str,
                        notice: Callable[[str], None]) -> T:
    """Run ``run(stop)`` under the two-signal rule; its result, or exit 3 if stopped at once."""
    stop = anyio.Event()

    async def signals(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for _ in received:
                if stop.is_set():
                    scope.cancel()  # a second signal: stop now; the journal still commits
                    return
                stop.set()
                notice(first_notice + " Press Ctrl-C again to stop at once."
                       " Run the same command to resume.")

    finished = False
    result: T | None = None
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(signals, scope)
            await anyio.lowlevel.checkpoint()  # let the watcher install its handlers
            result = await run(stop)
            finished = True
            tg.cancel_scope.cancel()
    if not finished:
        raise RunAborted("stopped at once; the journal is committed: run the same command"
                         " again to resume", EXIT_INTERRUPTED)
    return result  # type: ignore[return-value]  # finished: run() returned a T
