"""The rate limits, on an injected clock."""

from __future__ import annotations

import anyio

from bulkpin.push.pacing import ByteSemaphore, TokenBucket


def test_token_bucket_paces_to_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def main() -> None:
        bucket = TokenBucket(10.0, burst=1.0, clock=lambda: now[0], sleep=sleep)
        for _ in range(21):
            await bucket.take()

    anyio.run(main)
    # 21 tokens at 10/s with a burst of 1: 2 seconds of waiting, however split.
    assert abs(now[0] - 2.0) < 1e-9


def test_large_takes_are_paced_not_refused() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def main() -> None:
        bucket = TokenBucket(1000.0, burst=100.0, clock=lambda: now[0], sleep=sleep)
        await bucket.take(1100)

    anyio.run(main)
    assert abs(now[0] - 1.0) < 1e-9


def test_byte_semaphore_bounds_memory() -> None:
    async def main() -> list[int]:
        sem = ByteSemaphore(100)
        peak, held = [0], [0]

        async def worker(n: int) -> None:
            got = await sem.acquire(n)
            held[0] += got
            peak[0] = max(peak[0], held[0])
            await anyio.sleep(0.001)
            held[0] -= got
            sem.release(got)

        async with anyio.create_task_group() as tg:
            for n in (60, 60, 30, 500, 10):
                tg.start_soon(worker, n)
        return peak

    assert anyio.run(main)[0] <= 100
