"""``bulkpin pin``: migrating pins from one ``bulkpin serve`` (S, over ``/psa``) to another (D).

S holds pins made by ``bulkpin push``; D fetches their content from S (``--gateway``),
as Decoo fetches from the IPFS network. Reported:

- CIDs per second migrated, end to end (listing S + pinByHash + polling D until
  every job is pinned), against the one-CID-at-a-time script the issue describes
  (``pinByHash``, then ``pinJobs?pin-hash=`` until pinned, then the next CID),
  run on a subset against its own fresh D in the same benchmark run;
- requests per 1,000 CIDs, counted by the services (``/_admin/stats``): D's
  (pinByHash, pinJobs, pinList, tokens) and S's listing;
- a re-run's pinByHash requests (0 expected) and wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import anyio

from bulkpin.client import DecooClient, JobStatus, load_credentials
from bulkpin.journal import PinJournal
from bulkpin.service import ServeProcess

from .harness import Context, Result

JOB_DELAY = "0.05"
#: The local service counts a pinByHash job's fetch deadline from when the job is
#: queued, and fetches one job at a time: a burst of thousands of jobs would fail
#: on the default 5 s though every fetch works. Decoo queues; so does this.
DEST_ARGS = ("--job-delay", JOB_DELAY, "--fetch-timeout", "3600")


def _env(token: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    env["SRC_TOKEN"] = token
    return env


def _requests(svc: ServeProcess) -> dict[str, int]:
    return {route: sum(counts.values()) for route, counts in svc.stats()["requests"].items()}


def _fill_source(svc: ServeProcess, workdir: Path, count: int) -> str:
    """``count`` small files pushed to ``svc``; its API key (the source's token)."""
    tree = workdir / "tree"
    tree.mkdir()
    for i in range(count):
        (tree / f"f{i:06d}.txt").write_text(f"pin benchmark file {i}\n")
    subprocess.run([sys.executable, "-m", "bulkpin", "push", "--profile", str(svc.profile_path),
                    "--journal", str(workdir / "push.sqlite"), str(tree)],
                   check=True, capture_output=True, env=_env(""), timeout=3600)
    api_key = tomllib.loads(svc.profile_path.read_text())["api_key"]
    assert isinstance(api_key, str)
    return api_key


def _pin(dest: ServeProcess, source: ServeProcess, token: str, journal: Path
         ) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bulkpin", "pin", "--profile", str(dest.profile_path),
         "--from", f"psa:{source.cloud_url}/psa", "--from-token-env", "SRC_TOKEN",
         "--journal", str(journal), "--json"],
        capture_output=True, text=True, check=False, env=_env(token), timeout=3600,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bulkpin pin failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert isinstance(summary, dict)
    return seconds, summary


async def _one_at_a_time(profile: Path, cids: list[str]) -> None:
    """The hand-written script: pin a CID, wait for it, go on to the next."""
    async with DecooClient(load_credentials(profile=str(profile))) as client:
        for cid in cids:
            await client.pin_by_hash(cid)
            while True:
                job = await client.find_active_job(cid)
                if job is not None and job.status is JobStatus.PINNED:
                    break
                await anyio.sleep(0.05)


def run(ctx: Context) -> list[Result]:
    count = ctx.scale(5000, 50)
    subset = min(count, ctx.scale(500, 20))
    work = ctx.workdir
    with ServeProcess(work / "S", "--job-delay", JOB_DELAY) as source:
        token = _fill_source(source, work, count)
        with ServeProcess(work / "D", *DEST_ARGS, "--gateway", source.cloud_url) as dest:
            s_before = _requests(source)
            seconds, summary = _pin(dest, source, token, work / "pin.sqlite")
            d_reqs = _requests(dest)
            s_reqs = {k: v - s_before.get(k, 0) for k, v in _requests(source).items()}
            stats = dest.stats()
            assert summary["counts"]["pinned"] == count, summary["counts"]
            assert stats["duplicate_jobs"] == 0
            rerun_s, _ = _pin(dest, source, token, work / "pin.sqlite")
            rerun_pin_by_hash = _requests(dest).get("pinByHash", 0) - d_reqs.get("pinByHash", 0)
            cids = sorted(journal_cids(work / "pin.sqlite"))[:subset]
        with ServeProcess(work / "D2", *DEST_ARGS, "--gateway", source.cloud_url) \
                as naive_dest:
            start = time.perf_counter()
            anyio.run(_one_at_a_time, naive_dest.profile_path, cids)
            naive_s = time.perf_counter() - start
    rate = count / seconds
    naive_rate = subset / naive_s
    per_k = 1000 / count
    d_total = sum(d_reqs.values())
    details = {"count": count, "seconds": round(seconds, 2), "dest_requests": d_reqs,
               "source_requests": s_reqs, "poll_requests": summary["poll_requests"],
               "poll_rounds": summary["poll_rounds"], "listing": summary["listing"]}
    return [
        Result("pin", f"CIDs/s migrated, {count} pins (PSA -> pinByHash -> pinJobs)",
               rate, "CIDs/s", details=details),
        Result("pin", f"one-CID-at-a-time script, {subset} pins", naive_rate, "CIDs/s"),
        # No target: past a few hundred requests in flight the destination's own
        # job processing (one fetch from S at a time here) sets the pace.
        Result("pin", "speed-up over the one-at-a-time script", rate / naive_rate, "x"),
        Result("pin", "destination requests per 1,000 CIDs (all routes)", d_total * per_k,
               "req", details=d_reqs),
        Result("pin", "pinJobs requests per 1,000 CIDs", d_reqs.get("pinJobs", 0) * per_k,
               "req"),
        Result("pin", "source listing requests per 1,000 CIDs",
               s_reqs.get("psaList", 0) * per_k, "req"),
        Result("pin", "re-run: pinByHash requests", rerun_pin_by_hash, "req", target="0",
               ok=rerun_pin_by_hash == 0),
        Result("pin", "re-run wall time", rerun_s, "s"),
    ]


def journal_cids(journal: Path) -> list[str]:
    """The CIDs a pin journal holds (read-only, through the journal's own reader)."""
    with PinJournal(journal, read_only=True) as book:
        return [record.cid for record in book.all_pins()]
