"""Issue 25, item 1's row: client peak RSS while listing an account of 10⁶ unfinished jobs.

The account is seeded through the service's store (``bulkpin.sqlite3``), with
the service stopped: ``queued`` pinByHash jobs with nothing due, which the job
worker never picks up, so they stay unfinished for the whole run. Then a push
of one new tiny file (``--no-wait``, fresh journal) lists the account at its
start, as every run does; its peak RSS (VmHWM) is the figure, with the
listing's requests and seconds from the summary. ``--smoke`` seeds 2,000.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from pathlib import Path

from bulkpin.service import ServeProcess
from bulkpin.unixfs import hash_bytes

from .harness import Context, Result
from .push_bench import JOB_DELAY, _push

DB_NAME = "bulkpin.sqlite3"


def _seed_jobs(db: Path, count: int) -> None:
    """``count`` distinct queued jobs, oldest first, one millisecond apart."""
    now_ms = int(time.time() * 1000)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (account_id,) = conn.execute("SELECT id FROM accounts ORDER BY id LIMIT 1").fetchone()
        rows = ((str(uuid.uuid4()), account_id, hash_bytes(b"job %d" % i).cid,
                 f"seeded-{i}", now_ms - count + i, now_ms - count + i)
                for i in range(count))
        with conn:
            conn.executemany(
                "INSERT INTO jobs (uid, account_id, cid, kind, status, name, created_ms,"
                " updated_ms, due_ms, deadline_ms) VALUES (?, ?, ?, 'hash', 'queued', ?, ?, ?,"
                " NULL, NULL)", rows)


def run(ctx: Context) -> list[Result]:
    count = ctx.scale(1_000_000, 2000)
    service = ServeProcess(ctx.workdir / "serve", "--job-delay", JOB_DELAY)
    with service.start():
        pass  # creates the data dir, its account and the client profile
    _seed_jobs(service.data_dir / DB_NAME, count)
    rss: list[float] = []
    listing: list[dict[str, float]] = []
    with service.start() as svc:
        for i in range(ctx.repeats):
            tree = ctx.workdir / f"one-{i}"
            tree.mkdir()
            (tree / "tiny.txt").write_bytes(f"one more {i} {time.time_ns()}\n".encode())
            m = _push(svc, ctx.workdir, tree, "--no-wait")
            cost = m.summary.get("listing") or {}
            if int(cost.get("jobs_seen", count)) < count:
                raise RuntimeError(f"the listing saw fewer jobs than seeded: {cost}")
            rss.append(m.maxrss_kib / 1024)
            listing.append({"requests": float(cost.get("requests", 0)),
                            "seconds": float(cost.get("seconds") or 0.0), "cpu_s": m.cpu_s})
    peak = max(rss)
    return [
        Result("listing_rss", f"client peak RSS listing an account of {count:,} unfinished jobs",
               peak, "MiB", "< 150", peak < 150, {"samples": rss, "listing": listing}),
        Result("listing_rss", f"listing {count:,} unfinished jobs: requests",
               listing[0]["requests"], "requests"),
        Result("listing_rss", f"listing {count:,} unfinished jobs: seconds (median)",
               sorted(x["seconds"] for x in listing)[len(listing) // 2], "s"),
    ]
