"""Scale (issue 17, target 5): a million tiny files, and 100,000 in the same run.

Run only when asked (``python -m benchmarks --scale`` or ``--only scale_bench``):
the full size takes about an hour on the 2-core VM. ``--smoke`` pushes a few
hundred files. For each size, on a fresh ``bulkpin serve``: a first push
(waiting for pins), a no-op re-run on the same journal, then the journal's
size with its WAL checkpointed. Reported:

- client peak RSS (VmHWM) over the push and the re-run;
- journal bytes per file;
- no-op re-run time / first push time;
- push rate at N / push rate at 100,000 (same run, one after the other: a
  million files cannot be interleaved, so the host's load is given with the
  figures);
- the rate over the run, per tenth of N, from the ``--json`` progress events,
  to show whether the push slows as the journal and the account grow.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bulkpin.service import ServeProcess

from .harness import Context, Result

JOB_DELAY = "0.05"
PER_DIR = 1000


@dataclass
class Push:
    """One measured ``bulkpin push --json``."""

    seconds: float
    cpu_s: float
    maxrss_kib: int
    #: (elapsed s, files done) from the progress events.
    progress: list[tuple[float, int]] = field(default_factory=list)


def _tree(root: Path, count: int) -> Path:
    """``count`` files of 4 distinct bytes each (no two share a CID), 1,000 a directory."""
    root.mkdir()
    for d in range(0, count, PER_DIR):
        sub = root / f"d{d // PER_DIR:04}"
        sub.mkdir()
        for i in range(d, min(d + PER_DIR, count)):
            (sub / f"f{i:07}").write_bytes(i.to_bytes(4, "big"))
    return root


def _push(svc: ServeProcess, journal: Path, tree: Path, workdir: Path) -> Push:
    out = workdir / f"measure-{time.monotonic_ns()}.json"
    log = workdir / f"push-{time.monotonic_ns()}.jsonl"
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    cmd = [sys.executable, "-m", "benchmarks._measure", str(out), "bulkpin", "push",
           "--profile", str(svc.profile_path), "--json", "--journal", str(journal), str(tree)]
    start = time.perf_counter()
    # To a file, not a pipe held in memory: a million files write a million lines.
    with log.open("w") as stdout:
        proc = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True,
                              check=False, env=env, timeout=4 * 3600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"push exited {proc.returncode}: {proc.stderr[-2000:]}")
    io = json.loads(out.read_text())
    progress = []
    with log.open() as f:
        for line in f:
            if line.startswith('{"event": "progress"'):
                event = json.loads(line)
                progress.append((float(event["elapsed"]), int(event["files_done"])))
    log.unlink()
    return Push(seconds, io["cpu_s"], io["maxrss_kib"], progress)


def _journal_bytes(journal: Path) -> int:
    """The journal's size once its WAL is checkpointed into it."""
    with contextlib.closing(sqlite3.connect(journal)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = journal.with_name(journal.name + "-wal")
    return journal.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _rates(progress: list[tuple[float, int]], count: int, parts: int = 10) -> list[float]:
    """Files/s over each tenth of the files, from (elapsed, files done) samples."""
    rates = []
    last_t, last_n = 0.0, 0
    for k in range(1, parts + 1):
        goal = count * k // parts
        at = next(((t, n) for t, n in progress if n >= goal), None)
        if at is None:
            break
        t, n = at
        if t > last_t:
            rates.append((n - last_n) / (t - last_t))
        last_t, last_n = t, n
    return rates


@dataclass
class Size:
    """What one size measured."""

    count: int
    first: Push
    again: Push
    journal_bytes: int

    @property
    def rate(self) -> float:
        return self.count / self.first.seconds


def _size(ctx: Context, count: int, load: list[float]) -> Size:
    tree = _tree(ctx.workdir / f"tiny-{count}", count)
    journal = ctx.workdir / f"journal-{count}.sqlite"
    service = ServeProcess(ctx.workdir / f"serve-{count}", "--job-delay", JOB_DELAY)
    with service.start() as svc:
        load.append(os.getloadavg()[0])
        first = _push(svc, journal, tree, ctx.workdir)
        load.append(os.getloadavg()[0])
        again = _push(svc, journal, tree, ctx.workdir)
    size = Size(count, first, again, _journal_bytes(journal))
    print(f"scale_bench: {count} files: {size.rate:.0f} files/s, {first.seconds:.0f} s,"
          f" re-run {again.seconds:.1f} s, {size.journal_bytes / count:.0f} B/file,"
          f" per tenth {[round(r) for r in _rates(first.progress, count)]}",
          file=sys.stderr, flush=True)
    return size


def run(ctx: Context) -> list[Result]:
    count = ctx.scale(1_000_000, 400)
    base_count = ctx.scale(100_000, 100)
    load: list[float] = []
    base = _size(ctx, base_count, load)
    big = _size(ctx, count, load)
    rss = max(big.first.maxrss_kib, big.again.maxrss_kib) / 1024
    per_file = big.journal_bytes / count
    share = big.again.seconds / big.first.seconds
    ratio = big.rate / base.rate
    tenths = _rates(big.first.progress, count)
    decay = tenths[-1] / tenths[0] if len(tenths) >= 2 else 1.0
    details = {"load_avg_1m": load, "first_s": big.first.seconds, "rerun_s": big.again.seconds,
               "first_cpu_s": big.first.cpu_s, "rerun_cpu_s": big.again.cpu_s}
    label = f"{count:,}"
    return [
        Result("scale", f"{label} tiny files: client peak RSS (push, re-run)", rss, "MiB",
               "< 150", rss < 150, details),
        Result("scale", f"{label} tiny files: journal bytes per file (WAL checkpointed)",
               per_file, "B", "< 300", per_file < 300,
               {"base_bytes_per_file": base.journal_bytes / base_count}),
        Result("scale", f"{label} tiny files: no-op re-run / first push", share, "x", "< 0.03",
               share < 0.03, {"base_share": base.again.seconds / base.first.seconds}),
        Result("scale", f"push rate at {label} / at {base_count:,} (same run)", ratio, "x",
               ">= 0.9", ratio >= 0.9, {"rate": big.rate, "base_rate": base.rate}),
        Result("scale", f"{label} tiny files: push rate", big.rate, "files/s"),
        Result("scale", f"{label} tiny files: last tenth's rate / first tenth's", decay, "x",
               "", None, {"files_s_per_tenth": tenths,
                          "base_files_s_per_tenth": _rates(base.first.progress, base_count)}),
    ]
