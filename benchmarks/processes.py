"""Issue 28, target 4: small files per second with ``push --processes 2`` against one process.

One event loop is one core; ``--processes N`` runs N. Measured against
:mod:`benchmarks.memory_sink`, a service that checks nothing and answers from
memory, so the client's cores are what the figure is about (``bulkpin serve``
hashes every upload, and on a machine of two cores would take one of them).
Each run: a fresh sink (an empty account), a fresh journal, the same tree of
small distinct files, ``bulkpin push -q`` as a user runs it, timed from start
to exit (start-up, the account listing, the wait for every pin). 1 and 2
processes interleaved, ``ctx.repeats`` times each; files/s medians, their
spread, the ratio, and the machine's load average around the runs: the
machines here are shared, and a second process only helps on a free core.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .harness import Context, Result, cpu_seconds_children

#: The ratio a second process should give on two free cores (not checked: see the module).
EXPECTED = 1.5


def _tree(root: Path, count: int, dirs: int, size: int) -> Path:
    """``count`` distinct ``size``-byte files over ``dirs`` directories."""
    per_dir = -(-count // dirs)
    for i in range(count):
        d = root / f"d{i // per_dir:03}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06}").write_bytes(i.to_bytes(8, "big") * (size // 8))
    return root


class _Sink:
    """A :mod:`benchmarks.memory_sink` child, stopped by its own handle."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.memory_sink", str(workdir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError(f"the sink did not start: {line!r}")
        self.profile = workdir / "profile.toml"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _push(ctx: Context, tree: Path, processes: int, count: int) -> tuple[float, float]:
    """One push of ``tree`` by ``processes`` workers to a fresh sink: (files/s, client CPU s)."""
    stamp = time.monotonic_ns()
    sink = _Sink(ctx.workdir / f"sink-{stamp}")
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    try:
        cpu = cpu_seconds_children()
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bulkpin", "push", "--profile", str(sink.profile), "-q",
             "--journal", str(ctx.workdir / f"journal-{stamp}.sqlite"),
             *(["--processes", str(processes)] if processes > 1 else []), str(tree)],
            capture_output=True, text=True, check=False, env=env, timeout=3600,
            stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        # The sink is a child too, but is reaped only once stopped: what grew
        # here is the push's, its workers' included (each joined by the push).
        cpu = cpu_seconds_children() - cpu
    finally:
        sink.stop()
    if proc.returncode != 0 or "done (exit status 0)" not in proc.stderr:
        raise RuntimeError(f"push --processes {processes} exited {proc.returncode}:"
                           f" {proc.stderr[-2000:]}")
    return count / seconds, cpu


def run(ctx: Context) -> list[Result]:
    """Files/s with 2 processes and with 1, interleaved; their ratio."""
    count = ctx.scale(6000, 60)
    tree = _tree(ctx.workdir / "processes-tree", count, ctx.scale(60, 3), 4096)
    rates: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    load_before = os.getloadavg()[0]
    for _ in range(ctx.repeats):
        for processes in (1, 2):
            rate, cpu = _push(ctx, tree, processes, count)
            rates[processes].append(rate)
            cpus[processes].append(cpu)
    load_after = os.getloadavg()[0]
    one, two = (statistics.median(rates[n]) for n in (1, 2))
    ratio = two / one
    # Each pair ran back to back: on a host whose load moves, its own ratio says more.
    pairs = [b / a for a, b in zip(rates[1], rates[2], strict=True)]
    load = f"load average {load_before:.1f} before, {load_after:.1f} after, on"
    cores = f"{len(os.sched_getaffinity(0))} usable cores"
    details = {"files": count, "files_per_s": rates, "client_cpu_s": cpus,
               "pair_ratios": pairs, "pair_ratio_median": statistics.median(pairs),
               "load_average": [load_before, load_after], "cores": cores}
    return [
        Result("processes", f"T4 {count} x 4 KiB, memory sink: files/s, 1 process", one,
               "files/s", "", None, {"samples": rates[1],
                                     "spread": [min(rates[1]), max(rates[1])]}),
        Result("processes", f"T4 {count} x 4 KiB, memory sink: files/s, --processes 2", two,
               "files/s", "", None, {"samples": rates[2],
                                     "spread": [min(rates[2]), max(rates[2])]}),
        Result("processes", f"T4 files/s, --processes 2 / 1 ({load} {cores})", ratio, "x",
               f"~{EXPECTED:g} on 2 free cores (not checked: shared machine)", None, details),
    ]
