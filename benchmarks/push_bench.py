"""Workloads 2-7: ``bulkpin push`` against its baselines, on one ``bulkpin serve``.

2. one big file: push vs ``curl -F`` of the same file and fields; client peak RSS;
   CPU seconds per GiB.
3. many 4 KiB files: push (defaults) vs the SDK-like sequential baseline.
4. the concurrency sweep of workload 3.
5. many empty or tiny files: dry run, real push, no-op re-run; peak RSS.
6. pinJobs requests per 1,000 files per polling round (from workload 3).
7. bytes read per byte pinned, for new content (``rchar``), push vs the
   two-read baseline.

Every contender gets a fresh service configured the same way (``--job-delay``
as in the tests), so no run benefits from another's pins.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkpin.push.options import DEFAULT_CONCURRENCY
from bulkpin.service import ServeProcess
from bulkpin.testing import Account, access_token
from bulkpin.unixfs import hash_file
from bulkpin.unixfs.file_builder import aligned_buffer

from .harness import Context, Result, cpu_seconds_children, warm, write_file

MiB = 1 << 20
JOB_DELAY = "0.05"


@dataclass
class Measured:
    """One measured process."""

    seconds: float
    cpu_s: float
    maxrss_kib: int
    rchar: int
    summary: dict[str, Any]


def _measured(cmd: list[str], workdir: Path) -> Measured:
    """Run ``python -m MODULE ...`` under benchmarks._measure; wall time, CPU, RSS, rchar."""
    out = workdir / f"measure-{time.monotonic_ns()}.json"
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._measure", str(out), *cmd],
        capture_output=True, text=True, check=False, env=env, timeout=3600,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:2]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    io = json.loads(out.read_text())
    summary: dict[str, Any] = {}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith('{"event": "summary"'):
            summary = json.loads(line)
            break
    return Measured(seconds, io["cpu_s"], io["maxrss_kib"], io["rchar"], summary)


def _push(svc: ServeProcess, workdir: Path, *args: str | Path) -> Measured:
    journal = workdir / f"journal-{time.monotonic_ns()}.sqlite"
    return _measured(["bulkpin", "push", "--profile", str(svc.profile_path), "--json",
                      "--journal", str(journal), *map(str, args)], workdir)


def _service(workdir: Path) -> ServeProcess:
    return ServeProcess(workdir / f"serve-{time.monotonic_ns()}", "--job-delay", JOB_DELAY)


@dataclass
class CurlRun:
    """One ``curl -F`` upload: wall seconds and the curl process's CPU seconds."""

    seconds: float
    cpu_s: float


def _curl(svc: ServeProcess, path: Path, cid: str) -> CurlRun:
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    cpu = cpu_seconds_children()
    start = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "--fail", "-H", f"UserAccessToken: {token}", "-F", f"file=@{path}",
         "-F", f"cid={cid}", "-F", f"secret={account.sign(cid)}",
         svc.endpoint_urls[0] + "/pinning/pinFile"],
        capture_output=True, check=True, timeout=3600,
    )
    # The service is a child too, but it is reaped only when it stops: the
    # children's CPU that grew across this call is curl's alone.
    return CurlRun(time.perf_counter() - start, cpu_seconds_children() - cpu)


def _sha256_cpu_s(path: Path) -> float:
    """This thread's CPU seconds in sha256 alone over ``path``'s bytes (reads excluded).

    The cost no client can avoid, next to curl's (which includes reading): the
    file is read through an aligned buffer and only ``update`` is timed.
    """
    digest = hashlib.sha256()
    buf = aligned_buffer(4 * MiB)
    spent = 0.0
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            started = time.thread_time()
            digest.update(buf[:n])
            spent += time.thread_time() - started
    return spent


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def big_file(ctx: Context) -> list[Result]:
    """Workloads 2 and 7."""
    size = ctx.scale(1024 * MiB, 8 * MiB)
    gib = size / (1024 * MiB)
    tree = ctx.workdir / "big"
    tree.mkdir()
    big = write_file(tree / "big.bin", size)
    cid = hash_file(big).cid
    push_s: list[float] = []
    curl_s: list[float] = []
    curl_cpu: list[float] = []
    sha_cpu: list[float] = []
    runs: list[Measured] = []
    cid_then_curl_s: list[float] = []
    for _ in range(ctx.repeats):
        warm(big)
        with _service(ctx.workdir).start() as svc:
            m = _push(svc, ctx.workdir, tree, "--no-wait")
            runs.append(m)
            push_s.append(m.seconds)
        warm(big)
        with _service(ctx.workdir).start() as svc:
            curl = _curl(svc, big, cid)
            curl_s.append(curl.seconds)
            curl_cpu.append(curl.cpu_s / gib)
        sha_cpu.append(_sha256_cpu_s(big) / gib)
        # What a user with standard tools does: compute the CID (a first read),
        # then hand it to curl -F (a second read).
        warm(big)
        with _service(ctx.workdir).start() as svc:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bulkpin", "cid", str(big)],
                           capture_output=True, check=True, timeout=3600)
            cid_s = time.perf_counter() - started
            cid_then_curl_s.append(cid_s + _curl(svc, big, cid).seconds)
    ratio = _median(curl_s) / _median(push_s)
    fair = _median(cid_then_curl_s) / _median(push_s)
    rss_mib = max(m.maxrss_kib for m in runs) / 1024
    reads = _median([m.rchar / size for m in runs])
    push_cpu = [m.cpu_s / gib for m in runs]
    cpu_per_gib = _median(push_cpu)
    floor = _median(sha_cpu) + _median(curl_cpu)
    over_floor = cpu_per_gib / floor
    with _service(ctx.workdir).start() as svc:
        base = _measured(["benchmarks.baseline_client", str(svc.profile_path), str(big)],
                         ctx.workdir)
    label = f"{size // MiB} MiB"
    return [
        Result("push", f"W2 push of one {label} file / curl -F throughput", ratio, "x",
               ">= 0.8", ratio >= 0.8, {"push_s": push_s, "curl_s": curl_s}),
        Result("push", f"W2 push / (bulkpin cid, then curl -F) throughput, {label}", fair, "x",
               ">= 1.3", fair >= 1.3, {"cid_then_curl_s": cid_then_curl_s, "push_s": push_s}),
        Result("push", f"W2 client peak RSS, {label} push", rss_mib, "MiB", "< 64",
               rss_mib < 64),
        Result("push", f"W2 client CPU per GiB pinned ({label})", cpu_per_gib, "s/GiB", "",
               None, {"push_cpu_s_per_gib": push_cpu}),
        Result("push", "W2 sha256 CPU per GiB (hashlib, reads excluded)", _median(sha_cpu),
               "s/GiB", "", None, {"samples": sha_cpu}),
        Result("push", "W2 curl -F CPU per GiB (reading included)", _median(curl_cpu), "s/GiB",
               "", None, {"samples": curl_cpu}),
        Result("push", "W2 client CPU / (sha256 + curl -F CPU), per GiB", over_floor, "x",
               "<= 1.15", over_floor <= 1.15,
               {"push_cpu_s_per_gib": push_cpu, "sha256": sha_cpu, "curl": curl_cpu}),
        Result("push", "W7 bytes read per byte pinned (push)", reads, "x", "1.0",
               reads < 1.05, {"baseline": base.rchar / size}),
        Result("push", "W7 bytes read per byte pinned (two-read baseline)", base.rchar / size,
               "x", "2.0"),
    ]


def _small_tree(root: Path, count: int, size: int) -> list[Path]:
    root.mkdir()
    paths = []
    for i in range(count):
        d = root / f"d{i // 500:03}"
        d.mkdir(exist_ok=True)
        p = d / f"f{i:06}"
        # Distinct contents: no file is a duplicate of another.
        p.write_bytes(i.to_bytes(8, "big") * (size // 8) if size else b"")
        paths.append(p)
    return paths


def many_files(ctx: Context) -> list[Result]:
    """Workloads 3, 4 and 6."""
    count = ctx.scale(5000, 200)
    tree = ctx.workdir / "small"
    files = _small_tree(tree, count, 4096)
    subset = files[: max(count // 10, 20)]  # the baseline's rate does not depend on N
    default_rate: list[float] = []
    base_rate: list[float] = []
    poll: list[float] = []
    for _ in range(ctx.repeats):
        with _service(ctx.workdir).start() as svc:
            m = _push(svc, ctx.workdir, tree)
            default_rate.append(count / m.seconds)
            rounds = max(1, int(m.summary.get("poll_rounds", 1) or 1))
            poll.append(m.summary.get("poll_requests", 0) / rounds / count * 1000)
        with _service(ctx.workdir).start() as svc:
            b = _measured(["benchmarks.baseline_client", str(svc.profile_path),
                           *map(str, subset)], ctx.workdir)
            base_rate.append(len(subset) / b.seconds)
    ratio = _median(default_rate) / _median(base_rate)
    results = [
        Result("push", f"W3 {count} x 4 KiB: push / sequential SDK-like files/s", ratio, "x",
               ">= 10", ratio >= 10,
               {"push_files_s": default_rate, "baseline_files_s": base_rate}),
        Result("push", "W6 pinJobs requests per 1,000 files per round", _median(poll), "req",
               "<= 5", _median(poll) <= 5),
    ]
    sweep: dict[int, float] = {}
    for concurrency in (1, 4, 16, 64):
        rates = []
        for _ in range(max(1, ctx.repeats // 2)):
            with _service(ctx.workdir).start() as svc:
                m = _push(svc, ctx.workdir, tree, "--concurrency", str(concurrency))
                rates.append(count / m.seconds)
        sweep[concurrency] = _median(rates)
    best = max(sweep.values())
    # The default is --concurrency auto: W3's runs above, interleaved with its baseline.
    default = _median(default_rate)
    for concurrency, rate in sweep.items():
        results.append(Result("push", f"W4 files/s at --concurrency {concurrency}", rate,
                              "files/s"))
    results.append(Result("push", "W4 files/s at the default (--concurrency auto)", default,
                          "files/s"))
    results.append(Result("push", "W4 default (auto) / best fixed", default / best,
                          "x", ">= 0.9", default / best >= 0.9,
                          {"old_default_64_over_best": sweep[DEFAULT_CONCURRENCY] / best}))
    return results


def tiny_files(ctx: Context) -> list[Result]:
    """Workload 5."""
    count = ctx.scale(100_000, 500)
    tree = ctx.workdir / "tiny"
    _small_tree(tree, count, 0 if count > 1000 else 8)
    # Empty files all share one CID: give each a few bytes of its own instead,
    # so the account ends with one pin per file (the listing row lists them all).
    for i, p in enumerate(sorted(tree.rglob("f*"))):
        p.write_bytes(i.to_bytes(4, "big"))
    with _service(ctx.workdir).start() as svc:
        journal = ctx.workdir / "tiny.sqlite"
        args = ["bulkpin", "push", "--profile", str(svc.profile_path), "--json",
                "--journal", str(journal), str(tree)]
        dry = _measured([*args, "--dry-run"], ctx.workdir)
        first = _measured(args, ctx.workdir)
        again = _measured(args, ctx.workdir)
        # A new machine, a rescheduled pod: an empty journal against an account that
        # holds the tree must send nothing, and costs a listing of the account.
        fresh = _measured([*args[:-3], "--journal", str(ctx.workdir / "fresh.sqlite"),
                           str(tree)], ctx.workdir)
        sent = svc.stats()["bytes_received"]
    rss = max(dry.maxrss_kib, first.maxrss_kib, again.maxrss_kib, fresh.maxrss_kib) / 1024
    share = again.seconds / first.seconds
    listing = fresh.summary.get("listing") or {}
    fresh_share = fresh.seconds / first.seconds
    return [
        Result("push", f"W5 {count} tiny files: peak RSS (dry run, push, re-run)", rss, "MiB",
               "< 150", rss < 150,
               {"dry_s": dry.seconds, "push_s": first.seconds, "rerun_s": again.seconds}),
        Result("push", "W5 no-op re-run time / first push time", share, "x", "< 0.1",
               share < 0.1),
        Result("push", f"W5 push rate, {count} tiny files", count / first.seconds, "files/s"),
        Result("push", f"W8 listing an account of {listing.get('pins_total', 0)} pins",
               float(listing.get("requests", 0)), "requests", "about 1 per 1,000 pins",
               None, {"seconds": listing.get("seconds"), "bytes_received_total": sent}),
        Result("push", f"W8 listing {listing.get('pins_total', 0)} pins: time",
               float(listing.get("seconds") or 0.0), "s"),
        Result("push", "W8 no-op re-run with a fresh journal / first push time", fresh_share,
               "x", "< 0.5", fresh_share < 0.5,
               {"held": fresh.summary.get("snapshot", {}).get("held"),
                "uploaded": fresh.summary.get("snapshot", {}).get("uploaded")}),
    ]


def run(ctx: Context) -> list[Result]:
    if shutil.which("curl") is None:
        return [Result("push", "skipped: curl is not installed", 0, "")]
    return [*big_file(ctx), *many_files(ctx), *tiny_files(ctx)]
