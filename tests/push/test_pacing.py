"""The rate limits, on an injected clock."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from bulkpin.core.pacing import ByteSemaphore, TokenBucket, wire_bucket


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


def test_wire_bucket_holds_the_rate_over_any_second_across_uploads() -> None:
    # Three uploads pay 64 KiB pieces into one bucket, as the multipart body
    # does; whatever the sizes, the bytes let through in any window of a
    # second or more stay within the rate plus one burst.
    rate = 2_000_000
    now = [0.0]
    grants: list[tuple[float, int]] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def main() -> None:
        bucket = wire_bucket(rate, clock=lambda: now[0], sleep=sleep)
        assert bucket.burst == rate * 0.25

        async def upload(size: int) -> None:
            while size > 0:
                piece = min(size, 64 * 1024)
                await bucket.take(piece)
                grants.append((now[0], piece))
                size -= piece
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            for size in (30_000_000, 100_000, 5_000_000):
                tg.start_soon(upload, size)

    anyio.run(main)
    total = sum(n for _, n in grants)
    burst = rate * 0.25
    # The whole run took as long as the limit says (less the first burst).
    assert abs(now[0] - (total - burst) / rate) < 0.1
    times = [t for t, _ in grants]
    cumulative = [0]
    for _, n in grants:
        cumulative.append(cumulative[-1] + n)
    for i in range(len(grants)):
        for j in range(i + 1, len(grants), 7):
            span = times[j] - times[i]
            if span >= 1.0:
                through = cumulative[j + 1] - cumulative[i + 1]
                assert through <= rate * span + burst
                assert through >= rate * span - 64 * 1024


def test_wire_bucket_burst_has_a_floor() -> None:
    # A very low limit still lets a whole piece through without a pause per byte.
    assert wire_bucket(1000).burst == 64 * 1024
