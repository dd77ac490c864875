"""The adaptive concurrency controller's decisions on recorded latency traces (injected clock).

Each trace is what a full pool would report: ``limit`` answers per round, each
one taking the trace's latency, the clock advancing as answers arrive. Nothing
here sleeps or times anything.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from bulkpin.core.concurrency import (
    ConcurrencyController,
    Outcome,
    outcome_of,
)
from bulkpin.core.stages import AdaptiveGate, worker_pool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _controller(clock: Clock, **kw: float) -> ConcurrencyController:
    return ConcurrencyController(clock=clock, **kw)  # type: ignore[arg-type]


def _fill(ctl: ConcurrencyController) -> None:
    """The pool keeps ``limit`` requests in flight (there is always more work)."""
    while ctl.in_flight < ctl.limit:
        ctl.acquire()
    while ctl.in_flight > ctl.limit:
        ctl.release()


def _round(ctl: ConcurrencyController, clock: Clock, latency: float,
           outcome: Outcome = "ok", fill: bool = True) -> None:
    """One round trip of a full pool: ``limit`` answers, each after ``latency``."""
    n = max(ctl.min_round, ctl.limit)
    for _ in range(n):
        if fill:
            _fill(ctl)
        clock.now += latency / n
        ctl.observe(latency, outcome)


def _trace(ctl: ConcurrencyController, clock: Clock,
           latency_at: Callable[[int], float], rounds: int) -> list[int]:
    limits = []
    for _ in range(rounds):
        _round(ctl, clock, latency_at(ctl.limit))
        limits.append(ctl.limit)
    return limits


def test_steady_latency_grows_to_the_ceiling_and_stays() -> None:
    clock = Clock()
    ctl = _controller(clock, initial=16, ceiling=256)
    limits = _trace(ctl, clock, lambda _: 0.2, rounds=8)
    # Doubling: 16 -> 32 -> 64 -> 128 -> 256, then held at the ceiling.
    assert limits[:4] == [32, 64, 128, 256]
    assert limits[4:] == [256] * 4
    assert ctl.slow_start


def test_a_429_halves_the_limit_once_per_round_trip() -> None:
    clock = Clock()
    ctl = _controller(clock, initial=64, ceiling=256)
    _fill(ctl)
    clock.now += 0.2
    ctl.observe(0.2, "overload")
    assert ctl.limit == 32
    assert not ctl.slow_start
    # The rest of the pool's 429s were sent before the cut: no further halving.
    for _ in range(20):
        clock.now += 0.001
        ctl.observe(0.2, "overload")
    assert ctl.limit == 32
    # A 429 to a request sent after the cut halves again.
    clock.now += 0.5
    ctl.observe(0.2, "overload")
    assert ctl.limit == 16
    assert [d.reason for d in ctl.decisions] == ["overload answer"] * 2


def test_rising_latency_without_more_throughput_backs_off() -> None:
    """A bottleneck serving 400 requests/s: beyond 80 in flight at 200 ms, only queues."""
    clock = Clock()
    ctl = _controller(clock, initial=16, ceiling=1024)

    def queueing(limit: int) -> float:
        return max(0.2, limit / 400)  # Little's law past the knee

    limits = _trace(ctl, clock, queueing, rounds=40)
    # It found the knee and stays near it: neither runs off to the ceiling
    # nor collapses (a tenth off, then a tenth back on).
    assert max(limits[10:]) <= 2 * 80 * 1.5
    assert min(limits[10:]) >= 80 * 0.5
    assert any(d.reason == "latency rose without more throughput" for d in ctl.decisions)


def test_latency_that_rises_with_throughput_still_grows() -> None:
    """Loopback-like: more in flight costs latency but still buys requests per second."""
    clock = Clock()
    ctl = _controller(clock, initial=8, ceiling=64, slack=0.0)
    # Throughput keeps rising with the limit (x = 1000 * limit**0.7), latency too
    # (limit / x, Little's law): past 1.5 times its minimum from 32 on.
    limits = _trace(ctl, clock, lambda limit: limit / (1000 * limit ** 0.7), rounds=40)
    assert limits[-1] == 64
    assert any(d.reason == "latency rose, and so did throughput" for d in ctl.decisions)


def test_rising_latency_stops_at_the_latency_floor_and_only_overload_goes_below() -> None:
    """Loopback on a busy machine: every added request only queues for the CPU."""
    clock = Clock()
    ctl = _controller(clock, initial=64, ceiling=256, latency_floor=64)
    for _ in range(3):  # the first answers, before the pool filled, were quick
        clock.now += 0.002
        ctl.observe(0.002)
    limits = _trace(ctl, clock, lambda limit: limit / 300, rounds=30)
    assert min(limits) == 64
    assert any(d.reason == "latency rose without more throughput" for d in ctl.decisions)
    clock.now += 1
    ctl.observe(0.2, "overload")
    assert ctl.limit == 32


def test_a_pool_that_never_fills_holds_the_limit() -> None:
    clock = Clock()
    ctl = _controller(clock, initial=32, ceiling=256)
    for _ in range(4):
        ctl.acquire()  # the walk feeds only 4 at a time
        _round(ctl, clock, 0.2, fill=False)
        ctl.release()
    assert ctl.limit == 32
    assert {d.reason for d in ctl.decisions} == {"held: the pool never filled"}


def test_answers_sent_before_a_cut_are_not_counted_after_it() -> None:
    clock = Clock()
    ctl = _controller(clock, initial=64, ceiling=256)
    _fill(ctl)
    clock.now += 0.2
    ctl.observe(0.2, "overload")
    assert ctl.limit == 32
    # Slow answers still arriving from the old limit: they end no round.
    for _ in range(100):
        clock.now += 0.001
        ctl.observe(0.5)
    assert ctl.limit == 32
    assert len(ctl.decisions) == 1


def test_the_floor_and_the_ceiling_hold() -> None:
    clock = Clock()
    ctl = _controller(clock, initial=4, floor=2, ceiling=6)
    _trace(ctl, clock, lambda _: 0.05, rounds=5)
    assert ctl.limit == 6
    for _ in range(10):
        clock.now += 10
        ctl.observe(0.05, "overload")
    assert ctl.limit == 2
    with pytest.raises(ValueError, match="floor"):
        ConcurrencyController(floor=10, ceiling=5)


def test_a_slower_path_is_relearned_after_the_baseline_window() -> None:
    clock = Clock()
    ctl = _controller(clock, initial=16, ceiling=64, baseline_window=5.0)
    _trace(ctl, clock, lambda _: 0.05, rounds=3)
    assert ctl.baseline == pytest.approx(0.05)
    # The route changed: every answer now takes 0.3 s whatever the limit.
    _trace(ctl, clock, lambda _: 0.3, rounds=40)
    assert ctl.baseline == pytest.approx(0.3)
    # Once re-learned, steady latency grows the limit again to the ceiling.
    assert ctl.limit == 64


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "ok"), (429, "overload"), (503, "overload"), (504, "overload"),
    (None, "overload"), (404, None), (500, None),
])
def test_what_each_answer_says(status: int | None, outcome: str | None) -> None:
    assert outcome_of(status) == outcome


@pytest.mark.anyio
async def test_the_pool_never_has_more_in_flight_than_the_limit_and_follows_a_cut() -> None:
    ctl = ConcurrencyController(initial=8, ceiling=32, min_round=1000)
    gate = AdaptiveGate(ctl)
    send, receive = anyio.create_memory_object_stream[int](100)
    busy = 0
    most: list[int] = []
    release = anyio.Event()

    async def handle(item: int) -> None:
        nonlocal busy
        busy += 1
        most.append(busy)
        if item == 7:
            # The pool is full (8 waiting); the service says "fewer": a 429.
            gate.observe("pinFile", 0.0, 429, 0)
            release.set()
        await release.wait()
        await anyio.lowlevel.checkpoint()
        busy -= 1

    async with send:
        for i in range(60):
            await send.send(i)
    await worker_pool(receive, handle, concurrency=1, stop=anyio.Event(), grace=1.0,
                      in_flight=lambda: busy, on_abandon=lambda _: None, adaptive=gate)
    assert len(most) == 60  # every item handled
    assert max(most[:8]) == 8  # the initial limit, all taken, and no more
    assert ctl.limit == 4
    # After the cut, a new item starts only once fewer than 4 are in flight.
    assert max(most[8:]) <= 4


@pytest.mark.anyio
async def test_turns_go_to_waiters_in_order_and_a_raised_limit_lets_them_in() -> None:
    ctl = ConcurrencyController(initial=2, ceiling=8, min_round=1, latency_floor=1)
    gate = AdaptiveGate(ctl)
    order: list[int] = []

    async def worker(n: int) -> None:
        await gate.enter()
        ctl.acquire()  # as the pool does: the limit's worth are in flight
        order.append(n)

    async with anyio.create_task_group() as tg:
        for n in range(5):
            tg.start_soon(worker, n)
            await anyio.lowlevel.checkpoint()
        assert order == [0, 1]
        assert gate.taken == 2
        gate.leave()
        await anyio.lowlevel.checkpoint()
        assert order == [0, 1, 2]  # the first waiter, not whoever came last
        # Two quick answers make a round near the minimum latency: 2 -> 4.
        gate.observe("pinFile", 0.01, 200, 10)
        gate.observe("pinFile", 0.01, 200, 10)
        assert ctl.limit == 4
    assert order == [0, 1, 2, 3, 4]
    assert gate.taken == 4


@pytest.mark.anyio
async def test_a_turn_handed_to_a_cancelled_waiter_goes_to_the_next() -> None:
    ctl = ConcurrencyController(initial=1, ceiling=4)
    gate = AdaptiveGate(ctl)
    got: list[str] = []

    async def worker(name: str, scope: anyio.CancelScope) -> None:
        with scope:
            await gate.enter()
            got.append(name)
            # Holds the turn until the test ends (a worker mid-upload).
            await anyio.sleep_forever()

    await gate.enter()  # the one turn is taken
    doomed = anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker, "doomed", doomed)
            tg.start_soon(worker, "patient", anyio.CancelScope())
            await anyio.lowlevel.checkpoint()
            # The first waiter is cancelled, and in the same step the turn is
            # handed to it: it must pass the turn on, not keep it.
            doomed.cancel()
            gate.leave()
            while not got:
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
    assert got == ["patient"]
    assert gate.taken == 1  # patient's (its worker never gave it back)


@pytest.mark.anyio
async def test_a_waiter_cancelled_before_its_turn_leaves_the_queue() -> None:
    ctl = ConcurrencyController(initial=1, ceiling=4)
    gate = AdaptiveGate(ctl)
    await gate.enter()
    with anyio.move_on_after(0.01):
        await gate.enter()
    gate.leave()
    assert gate.taken == 0  # nobody was waiting for the turn given back
    await gate.enter()
    assert gate.taken == 1


@pytest.mark.anyio
async def test_at_a_steady_limit_the_same_workers_keep_their_turns() -> None:
    """The other workers stay parked: no task switch per item to a fresh one."""
    ctl = ConcurrencyController(initial=4, ceiling=32, min_round=1000)
    gate = AdaptiveGate(ctl)
    send, receive = anyio.create_memory_object_stream[int](100)
    workers: set[int] = set()

    async def handle(item: int) -> None:
        workers.add(anyio.get_current_task().id)
        await anyio.lowlevel.checkpoint()

    async with send:
        for i in range(60):
            await send.send(i)
    await worker_pool(receive, handle, concurrency=1, stop=anyio.Event(), grace=1.0,
                      in_flight=lambda: 0, on_abandon=lambda _: None, adaptive=gate)
    assert len(workers) == 4
    assert gate.taken == 0  # every turn given back as the workers ended


@pytest.mark.anyio
async def test_a_cut_holds_for_workers_that_were_idle_when_it_came() -> None:
    """Workers waiting for work when the limit falls do not all start when work comes."""
    ctl = ConcurrencyController(initial=8, ceiling=8, min_round=1000)
    gate = AdaptiveGate(ctl)
    send, receive = anyio.create_memory_object_stream[int](100)
    busy = 0
    most = 0
    release = anyio.Event()

    async def handle(item: int) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        await release.wait()
        busy -= 1

    async def feed() -> None:
        async with send:
            while gate.taken < 8:  # all 8 workers hold a turn, waiting for an item
                await anyio.lowlevel.checkpoint()
            gate.observe("pinFile", 0.2, 429, 0)  # "fewer, please": 8 -> 4
            assert ctl.limit == 4
            for i in range(8):
                await send.send(i)
            for _ in range(50):
                await anyio.lowlevel.checkpoint()
            release.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(feed)
            await worker_pool(receive, handle, concurrency=1, stop=anyio.Event(), grace=1.0,
                              in_flight=lambda: busy, on_abandon=lambda _: None, adaptive=gate)
    assert most == 4
