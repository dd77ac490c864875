"""The pieces every pipeline is built of: a worker pool that stops well, and one run of stages.

``push`` (files), the remote push (objects, URLs) and ``pin`` (CIDs) differ in
their sources and movers, not in how a bounded pool of workers takes items, how
a stop is honoured, or how a run's stages end together. Those live here once:

- :func:`worker_pool`: ``concurrency`` workers take items from one stream. Once
  ``stop`` is set no worker takes another item (what is queued stays in the
  journal as it was); items in flight get ``grace`` seconds, then are
  abandoned (their journal rows say they may have been sent).
- :func:`run_stages`: the stages in one task group beside a progress ticker;
  a :class:`RunAborted` from any stage, however deep in nested groups, becomes
  the run's ending; a journal that cannot be written ends the run as itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .errors import JournalError, RunAborted

__all__ = ["run_stages", "worker_pool"]

T = TypeVar("T")


async def worker_pool(
    work: MemoryObjectReceiveStream[T],
    handle: Callable[[T], Awaitable[None]],
    *,
    concurrency: int,
    stop: anyio.Event,
    grace: float,
    in_flight: Callable[[], int],
    on_abandon: Callable[[int], None],
    after_each: Callable[[], None] = lambda: None,
) -> None:
    """Handle every item of ``work`` on ``concurrency`` workers, until done or stopped."""

    async def worker(items: MemoryObjectReceiveStream[T]) -> None:
        async with items:
            async for item in items:
                if stop.is_set():
                    return
                await handle(item)
                after_each()

    async def watch_grace(scope: anyio.CancelScope) -> None:
        await stop.wait()
        await anyio.sleep(grace)
        if in_flight():
            on_abandon(in_flight())
        scope.cancel()

    scope = anyio.CancelScope()
    async with anyio.create_task_group() as watch:
        watch.start_soon(watch_grace, scope)
        with scope:
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(worker, work.clone())
                work.close()
        watch.cancel_scope.cancel()


async def run_stages(
    stages: Sequence[Callable[[], Coroutine[Any, Any, None]]],
    tick: Callable[[], Coroutine[Any, Any, None]],
) -> RunAborted | None:
    """Run ``stages`` together (and ``tick`` until they end); the abort that ended them."""
    aborted: RunAborted | None = None
    async with anyio.create_task_group() as outer:
        outer.start_soon(tick)
        try:
            async with anyio.create_task_group() as tg:
                for stage in stages:
                    tg.start_soon(stage)
        except RunAborted as exc:
            aborted = exc
        except BaseExceptionGroup as group:
            found = group.subgroup(RunAborted)
            if found is None:
                # A journal that cannot be written (disk full...) ends the run; the
                # broken streams that come with it are only its consequence.
                broken = group.subgroup(JournalError)
                if broken is not None:
                    raise _leaf(broken) from None
                raise
            # Stages run nested task groups: a RunAborted arrives group in group.
            leaf = _leaf(found)
            assert isinstance(leaf, RunAborted)
            aborted = leaf
        finally:
            outer.cancel_scope.cancel()
    return aborted


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _leaf(first) if isinstance(first, BaseExceptionGroup) else first
