"""``--bwlimit`` on the wire: the service's received bytes over time, against the limit.

One large file and several small ones are pushed with ``--bwlimit 2M/s`` while
the service's ``/_admin/stats`` (bytes of finished requests plus bytes so far
of requests still being read) is sampled every 0.25 s. Every one-second window
that lies wholly inside the transfer gives a rate; the row reports the highest
and lowest as a ratio to the limit (target: within 25%). Before the limit was
paid per piece, the large file waited, then arrived at full speed in a burst.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bulkpin.service import ServeProcess

from .harness import Context, Result, write_file

MiB = 1 << 20
LIMIT = 2_000_000  # bytes per second: what --bwlimit 2M/s means
SAMPLE_EVERY = 0.25
WINDOW = 1.0


def _tree(ctx: Context) -> Path:
    tree = ctx.workdir / "tree"
    tree.mkdir()
    write_file(tree / "large.bin", ctx.scale(24 * MiB, 4 * MiB))
    for i in range(ctx.scale(16, 6)):
        # Distinct contents, so no small file is skipped as a copy of another.
        (tree / f"small-{i:02}.bin").write_bytes(os.urandom(ctx.scale(500_000, 200_000)))
    return tree


def _received(svc: ServeProcess) -> int:
    stats = svc.stats()
    return int(stats["bytes_received"]) + int(stats.get("bytes_receiving", 0))


def _sample(svc: ServeProcess, cmd: list[str], log: Path) -> list[tuple[float, int]]:
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    samples: list[tuple[float, int]] = []
    with log.open("wb") as err, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                                 env=env) as proc:
        next_at = time.monotonic()
        while proc.poll() is None:
            samples.append((time.monotonic(), _received(svc)))
            next_at += SAMPLE_EVERY
            time.sleep(max(0.0, next_at - time.monotonic()))
    if proc.returncode != 0:
        raise RuntimeError(f"push exited {proc.returncode}: {log.read_text()[-2000:]}")
    samples.append((time.monotonic(), _received(svc)))
    return samples


def window_rates(samples: list[tuple[float, int]]) -> list[float]:
    """Rates over windows of at least WINDOW s that lie wholly inside the transfer."""
    base, final = samples[0][1], samples[-1][1]
    first = next(i for i, (_, b) in enumerate(samples) if b > base)
    last = next(i for i, (_, b) in enumerate(samples) if b >= final)
    rates = []
    for i in range(first, last + 1):
        t0, b0 = samples[i]
        for t1, b1 in samples[i + 1 : last + 1]:
            if t1 - t0 >= WINDOW:
                rates.append((b1 - b0) / (t1 - t0))
                break
    return rates


def run(ctx: Context) -> list[Result]:
    tree = _tree(ctx)
    with ServeProcess(ctx.workdir / "serve", "--job-delay", "0.05").start() as svc:
        cmd = [sys.executable, "-m", "bulkpin", "push", "--profile", str(svc.profile_path),
               "--journal", str(ctx.workdir / "journal.sqlite"), "--no-wait",
               "--bwlimit", "2M/s", str(tree)]
        samples = _sample(svc, cmd, ctx.workdir / "push.log")
    rates = window_rates(samples)
    if not rates:
        return [Result("bwlimit", "skipped: the transfer took under a second", 0, "")]
    high, low = max(rates) / LIMIT, min(rates) / LIMIT
    sent = samples[-1][1] - samples[0][1]
    details = {"windows": len(rates), "bytes": sent, "limit": LIMIT}
    return [
        Result("bwlimit", "max 1 s rate / --bwlimit 2M/s", high, "x", "<= 1.25",
               high <= 1.25, details),
        Result("bwlimit", "min 1 s rate / --bwlimit 2M/s", low, "x", ">= 0.75",
               low >= 0.75, details),
    ]
