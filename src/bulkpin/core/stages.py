"""The pieces every pipeline is built of: a worker pool that stops well, and one run of stages.

``push`` (files), the remote push (objects, URLs) and ``pin`` (CIDs) differ in
their sources and movers, not in how a bounded pool of workers takes items, how
a stop is honoured, or how a run's stages end together. Those live here once:

- :func:`worker_pool`: ``concurrency`` workers take items from one stream. Once
  ``stop`` is set no worker takes another item (what is queued stays in the
  journal as it was); items in flight get ``grace`` seconds, then are
  abandoned (their journal rows say they may have been sent). With an
  :class:`AdaptiveGate` the pool has as many workers as the controller's
  ceiling, and takes items only while fewer than its limit are in flight.
- :func:`run_stages`: the stages in one task group beside a progress ticker;
  a :class:`RunAborted` from any stage, however deep in nested groups, becomes
  the run's ending; a journal that cannot be written ends the run as itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Generic, Protocol, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .concurrency import SAMPLE_MAX_BODY, ConcurrencyController, outcome_of
from .errors import JournalError, RunAborted
from .events import NoticeEvent
from .poll import Poller, PollSchedule

__all__ = [
    "AdaptiveGate", "FollowOptions", "abandoned_notice", "follow_jobs", "run_stages", "ticker",
    "worker_pool",
]

#: Seconds between progress events.
PROGRESS_INTERVAL = 0.5

#: Seconds between looks, during a stop's grace, for uploads too slow to make it.
HOPELESS_CHECK = 0.5

T = TypeVar("T")


class AdaptiveGate:
    """A :class:`ConcurrencyController` at work: its limit as turns, fed by the client.

    A worker takes a turn (:meth:`enter`) before its first item and keeps it
    from item to item; it gives it back (:meth:`leave`) when the limit fell
    below the turns taken, or when it ends. The client's exchanges
    (:meth:`observe`, a :data:`bulkpin.client.ExchangeObserver`) feed the
    controller, and a new limit applies at once: raised, it lets waiting
    workers in; lowered, requests in flight finish and no new one starts until
    fewer than the limit are out.

    Not an ``anyio.CapacityLimiter`` taken per item: that yields to the event
    loop on every acquire and wakes another worker on every release, a loop
    pass and a task switch per file that a pool of small uploads pays for
    nothing. Here a free turn is taken without waiting; waiters are served
    first come, first served, a turn handed straight over.
    """

    def __init__(self, controller: ConcurrencyController) -> None:
        self.controller = controller
        #: Turns taken (workers between :meth:`enter` and :meth:`leave`).
        self.taken = 0
        self._waiting: deque[anyio.Event] = deque()

    async def enter(self) -> None:
        """Take a turn, waiting while the limit's worth are taken."""
        if self.taken < self.controller.limit and not self._waiting:
            self.taken += 1
            return
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():
                self.leave()  # handed a turn while being cancelled: hand it on
            else:
                self._waiting.remove(turn)
            raise

    def leave(self) -> None:
        """Give a turn back (to the first waiter, if the limit allows)."""
        self.taken -= 1
        self._hand_over()

    def observe(self, operation: str, seconds: float, status: int | None, body: int) -> None:
        outcome = outcome_of(status)
        if outcome is None or (outcome == "ok" and body > SAMPLE_MAX_BODY):
            return
        self.controller.observe(seconds, outcome)
        self._hand_over()  # the limit may have risen

    def _hand_over(self) -> None:
        # A turn passes to a waiter counted as taken, so a worker running the
        # fast path in between cannot take it too.
        while self._waiting and self.taken < self.controller.limit:
            self.taken += 1
            self._waiting.popleft().set()


class _Flight(Generic[T]):
    """Items being handled, each in a cancel scope of its own when it may be cut alone."""

    def __init__(self, handle: Callable[[T], Awaitable[None]],
                 cannot_finish: Callable[[T, float], bool] | None) -> None:
        self._handle = handle
        self._cannot_finish = cannot_finish
        self._running: dict[anyio.CancelScope, T] = {}

    @property
    def cuttable(self) -> bool:
        """Whether some item in flight may be cut alone."""
        return self._cannot_finish is not None and bool(self._running)

    async def run(self, item: T) -> None:
        """Handle ``item``; a cut ends it quietly (its journal row says it may be sent)."""
        if self._cannot_finish is None:
            await self._handle(item)
            return
        with anyio.CancelScope() as scope:
            self._running[scope] = item
            try:
                await self._handle(item)
            finally:
                del self._running[scope]

    async def watch_grace(self, stop: anyio.Event, grace: float, in_flight: Callable[[], int],
                          on_abandon: Callable[[int], None],
                          on_hopeless: Callable[[int], None] | None,
                          scope: anyio.CancelScope) -> None:
        """Once ``stop`` is set: cut what cannot make the grace, then all that is left."""
        await stop.wait()
        deadline = anyio.current_time() + grace
        while self.cuttable:
            left = deadline - anyio.current_time()
            if left <= 0:
                break
            cut = self.cut_hopeless(left)
            if cut and on_hopeless is not None:
                on_hopeless(cut)
            await anyio.sleep(min(HOPELESS_CHECK, left))
        await anyio.sleep(max(0.0, deadline - anyio.current_time()))
        if in_flight():
            on_abandon(in_flight())
        scope.cancel()

    def cut_hopeless(self, left: float) -> int:
        """Cut the items that cannot finish in ``left`` seconds; how many."""
        assert self._cannot_finish is not None
        hopeless = [scope for scope, item in self._running.items()
                    if self._cannot_finish(item, left)]
        for scope in hopeless:
            scope.cancel()
        return len(hopeless)


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
    adaptive: AdaptiveGate | None = None,
    cannot_finish: Callable[[T, float], bool] | None = None,
    on_hopeless: Callable[[int], None] | None = None,
) -> None:
    """Handle every item of ``work`` on ``concurrency`` workers, until done or stopped.

    With ``adaptive``, ``concurrency`` is ignored: the gate's controller
    decides how many items are in flight, up to its ceiling. With
    ``cannot_finish(item, seconds)``, an item in flight when the run stops that
    will not finish within what is left of the grace is abandoned at once
    (``on_hopeless(n)`` says how many), rather than sent for the whole grace
    and abandoned anyway.
    """
    flight = _Flight(handle, cannot_finish)
    handle_one = flight.run

    async def worker(items: MemoryObjectReceiveStream[T]) -> None:
        async with items:
            async for item in items:
                if stop.is_set():
                    return
                await handle_one(item)
                after_each()

    async def gated_worker(items: MemoryObjectReceiveStream[T], gate: AdaptiveGate) -> None:
        # A worker keeps its turn from one item to the next: at a steady limit
        # the same workers loop as a fixed pool's do, and the rest stay parked.
        # It gives the turn back when the limit fell below the turns taken,
        # checked once it has an item, so a cut also holds for workers that
        # were waiting for work when it came; the item waits for a new turn.
        controller = gate.controller
        async with items:
            await gate.enter()
            holding = True
            try:
                while True:
                    try:
                        item = await items.receive()
                    except anyio.EndOfStream:
                        return
                    if gate.taken > controller.limit:
                        holding = False
                        gate.leave()
                        await gate.enter()
                        holding = True
                    if stop.is_set():
                        return
                    controller.acquire()
                    try:
                        await handle_one(item)
                    finally:
                        controller.release()
                    after_each()
            finally:
                if holding:
                    gate.leave()

    scope = anyio.CancelScope()
    async with anyio.create_task_group() as watch:
        watch.start_soon(flight.watch_grace, stop, grace, in_flight, on_abandon, on_hopeless,
                         scope)
        with scope:
            async with anyio.create_task_group() as tg:
                if adaptive is not None:
                    for _ in range(adaptive.controller.ceiling):
                        tg.start_soon(gated_worker, work.clone(), adaptive)
                else:
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


class FollowOptions(Protocol):
    """What following jobs needs of a run's options (push's and pin's both have it)."""

    @property
    def wait(self) -> bool: ...
    @property
    def wait_timeout(self) -> float: ...
    @property
    def patience(self) -> float: ...
    @property
    def poll_interval(self) -> float: ...
    @property
    def poll_max_interval(self) -> float: ...


async def follow_jobs(poller: Poller, options: FollowOptions, *, movers_done: anyio.Event,
                      stop: anyio.Event, warn: Callable[[str], None]) -> bool:
    """Follow jobs while the movers run, then (if waiting) until final; True if timed out."""
    schedule = PollSchedule(options.wait, options.wait_timeout, options.poll_interval,
                            options.poll_max_interval)
    return await poller.follow(schedule, patience=options.patience, uploads_done=movers_done,
                               stop=stop, on_error=warn)


async def ticker(snapshot: Callable[[], Any], emit: Callable[[Any], None],
                 stopping: Callable[[], None] | None = None,
                 stop: anyio.Event | None = None) -> None:
    """Emit ``snapshot()`` every :data:`PROGRESS_INTERVAL` until cancelled.

    Once ``stop`` is set, ``stopping()`` is called first, so the display says
    the run is stopping whatever stage was running.
    """
    while True:
        if stop is not None and stopping is not None and stop.is_set():
            stopping()
        emit(snapshot())
        await anyio.sleep(PROGRESS_INTERVAL)


def abandoned_notice(emit: Callable[[NoticeEvent], None], grace: float,
                     what: str) -> Callable[[int], None]:
    """``worker_pool``'s ``on_abandon``: say how many ``what`` the grace cut off."""

    def say(n: int) -> None:
        emit(NoticeEvent(f"{n} {what} still in flight after --grace {grace:g} s: abandoned;"
                         " the next run checks them first", "warning"))

    return say
