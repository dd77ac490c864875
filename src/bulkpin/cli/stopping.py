"""How the long commands (``push``, ``pin``) are stopped: the first signal asks, the second tells.

The first SIGINT, SIGTERM or SIGHUP sets the run's ``stop`` event and says
what happens next (no new item starts, those in flight get their grace); a
second SIGINT or SIGTERM cancels the run at once (its journal still commits on
the way out). SIGHUP never escalates: a closed terminal sends it twice (the
kernel to the foreground job, the shell to each of its jobs), and nobody is
left to mean the second one. After a SIGHUP, what the run would print to a
terminal goes to ``/dev/null``: the terminal is going (tmux and shells send
SIGHUP *before* they close it, so it may still look alive), writing to it
then fails with EIO, and a failed write must not turn a clean stop into a
crash (the summary is in the journal, ``bulkpin status`` shows it). The
watcher starts before anything else, so a SIGTERM while the embedded service
or the client is still starting is a stop too, not a kill by the default
handler.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.lowlevel

from ..push import RunAborted
from . import EXIT_INTERRUPTED

__all__ = ["run_stoppable", "stop_notice"]

T = TypeVar("T")


async def run_stoppable(run: Callable[[anyio.Event], Awaitable[T]], first_notice: str,
                        notice: Callable[[str], None]) -> T:
    """Run ``run(stop)`` under the two-signal rule; its result, or exit 3 if stopped at once."""
    stop = anyio.Event()
    terminals = [fd for fd in (1, 2) if os.isatty(fd)]

    async def signals(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as received:
            async for signum in received:
                if signum == signal.SIGHUP:
                    _leave_hung_up_terminals(terminals)
                    if stop.is_set():
                        continue
                elif stop.is_set():
                    scope.cancel()  # a second signal: stop now; the journal still commits
                    return
                stop.set()
                notice(stop_notice(first_notice))

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


def stop_notice(first_notice: str) -> str:
    """What the first signal says: what stopping does, and how to stop at once or resume."""
    return first_notice + " Press Ctrl-C again to stop at once. Run the same command to resume."


def _leave_hung_up_terminals(terminals: list[int]) -> None:
    """Point stdout/stderr at ``/dev/null`` where they were a terminal (see the module doc)."""
    if not terminals:
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in terminals:
            os.dup2(null, fd)
        terminals.clear()
    finally:
        os.close(null)
