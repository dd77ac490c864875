"""Accounting: files in flight, bytes as they are sent, the smoothed rate, the ETA."""

from __future__ import annotations

import pytest

from bulkpin.core.accounting import TRANSFERS_SHOWN
from bulkpin.core.rate import RateMeter
from bulkpin.push import Accounting, FileEvent

MiB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_large_file_moves_the_bytes_before_it_is_done() -> None:
    acct = Accounting(clock=Clock())
    acct.found(40 * MiB)
    acct.walk_finished()
    acct.begin("tree/big.bin", 40 * MiB)
    acct.sent(10 * MiB, "tree/big.bin")
    s = acct.snapshot()
    assert (s.bytes_done, s.bytes_moving, s.bytes_progress) == (0, 10 * MiB, 10 * MiB)
    assert [(t.name, t.size, t.sent) for t in s.transfers] == [("tree/big.bin", 40 * MiB, 10 * MiB)]
    acct.sent(-10 * MiB, "tree/big.bin")  # a failed attempt rewinds
    assert acct.snapshot().bytes_progress == 0
    assert acct.snapshot().bytes_sent == 10 * MiB  # what crossed the wire stays sent
    acct.sent(40 * MiB, "tree/big.bin")
    acct.file_done(FileEvent("tree/big.bin", "uploaded", 40 * MiB))
    # Counted once: as done, no longer as moving, before the worker lets go.
    s = acct.snapshot()
    assert (s.bytes_done, s.bytes_moving, s.transfers) == (40 * MiB, 0, ())
    acct.end("tree/big.bin")
    assert acct.snapshot().in_flight == 0


def test_an_upload_too_slow_for_the_time_left_cannot_finish() -> None:
    clock = Clock()
    acct = Accounting(clock=clock)
    acct.begin("big", 100 * MiB)
    assert not acct.cannot_finish("big", 5.0)  # nothing sent: no pace to judge by
    clock.now += 10
    acct.sent(10 * MiB, "big")  # 1 MiB/s: 90 s to go
    assert acct.cannot_finish("big", 60.0)
    assert not acct.cannot_finish("big", 120.0)
    assert not acct.cannot_finish("unknown", 1.0)


def test_only_the_largest_uploads_are_named() -> None:
    acct = Accounting(clock=Clock())
    for i in range(10):
        acct.begin(f"f{i}", i * MiB)
    s = acct.snapshot()
    assert s.in_flight == 10
    assert [t.name for t in s.transfers] == ["f9", "f8", "f7", "f6"][:TRANSFERS_SHOWN]


def test_begin_and_end_still_work_unnamed() -> None:
    acct = Accounting(clock=Clock())
    acct.begin()
    acct.sent(5)
    assert (acct.snapshot().in_flight, acct.snapshot().transfers) == (1, ())
    acct.end()
    assert acct.snapshot().in_flight == 0


def test_eta_only_once_the_walk_is_done() -> None:
    clock = Clock()
    acct = Accounting(clock=clock)
    acct.found(100 * MiB)
    acct.begin("a", 100 * MiB)
    for _ in range(20):
        acct.sent(MiB, "a")
        clock.now += 1.0
        acct.snapshot()
    walking = acct.snapshot()
    assert walking.rate == pytest.approx(MiB, rel=0.01)
    assert walking.eta is None  # no total yet: no promise
    acct.walk_finished()
    assert acct.snapshot().eta == pytest.approx(80.0, rel=0.01)


def test_rate_is_smoothed_and_ignores_idle_time_before_the_first_byte() -> None:
    meter = RateMeter(time_constant=10.0)
    meter.update(0.0, 0)  # no byte yet: nothing measured
    meter.start(50.0, 0)  # a long account listing before the first byte
    total = 0
    for t in range(51, 71):
        total += 2_000_000
        meter.update(float(t), total)
    assert meter.rate == pytest.approx(2_000_000, rel=1e-6)
    # A stall: the rate falls gradually, not at once, and never below zero.
    meter.update(72.0, total)
    assert 1_500_000 < meter.rate < 2_000_000
    meter.update(200.0, total)
    assert 0 <= meter.rate < 10_000


def test_a_first_burst_is_averaged_over_a_whole_second() -> None:
    meter = RateMeter()
    meter.start(0.0, 0)
    meter.update(0.1, 1_000_000)  # a burst in the first tenth of a second
    assert meter.rate == pytest.approx(1_000_000, rel=0.06)
