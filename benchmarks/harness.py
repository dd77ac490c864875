"""What every benchmark shares: a work directory, repeated timing, and result rows.

Machines here are shared and noisy, so a benchmark never reports an absolute
speed on its own: it measures bulkpin and a baseline in the same run, several
times each, interleaved, and reports the ratio of medians with the spread.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def peak_rss_kib(pid: int | str = "self") -> int:
    """A process's own peak RSS (VmHWM), in KiB.

    Not ``ru_maxrss``: Linux carries it across exec from the process that
    spawned it, so a run spawned by a parent holding 66 MiB reported 66 MiB
    whatever it used itself. VmHWM belongs to that address space only.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")

@dataclass
class Result:
    """One row of the results table."""

    benchmark: str
    metric: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Timing:
    """Median and spread (min..max) of repeated wall-clock measurements, in seconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.samples), max(self.samples)


@dataclass
class Context:
    """Handed to every benchmark's ``run``."""

    smoke: bool
    workdir: Path
    repeats: int

    def scale(self, full: int, smoke: int) -> int:
        """A size or count: the full one, or the tiny one in smoke mode."""
        return smoke if self.smoke else full


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(repeats: int, **contenders: Callable[[], object]) -> dict[str, Timing]:
    """Time each contender ``repeats`` times, alternating, so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            samples[name].append(timed(fn))
    return {name: Timing(s) for name, s in samples.items()}


def cpu_seconds_children() -> float:
    """user+sys CPU of waited-for child processes so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def write_file(path: Path, size: int, seed: int = 0) -> Path:
    """A file of ``size`` incompressible bytes (written in 1 MiB pieces)."""
    block = os.urandom(1 << 20) if seed == 0 else (seed.to_bytes(8, "big") * (1 << 17))
    with path.open("wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    return path


def warm(path: Path) -> None:
    """Read a file once so both sides of a ratio start with it in the page cache."""
    with path.open("rb", buffering=0) as f:
        while f.read(8 << 20):
            pass
