"""Issue 27's row: ``bulkpin verify`` against ``curl`` fetching the same CARs.

One ``bulkpin serve`` holds a pushed tree and is the trustless gateway. For each
workload (many small files: CIDs/s; a few large ones: bytes/s), interleaved:
``bulkpin verify --from CIDS`` (every block hashed, the DAG walked) and ``curl``
fetching each CID's CAR (``?format=car&dag-scope=all``) to /dev/null, checking
nothing, with as many transfers at once as verify's default concurrency.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bulkpin.unixfs import hash_file
from bulkpin.verify import DEFAULT_VERIFY_CONCURRENCY

from .harness import Context, Result
from .push_bench import _push, _service

MiB = 1 << 20


def _verify(cloud_url: str, cids: Path, count: int) -> float:
    """Wall seconds of one ``bulkpin verify`` of the ``count`` CIDs listed in ``cids``.

    Each run has a verification journal of its own: a run skips what an earlier
    one proved, so a shared journal would time a run that checks nothing.
    """
    journal = cids.with_name(f"verify-{time.monotonic_ns()}.sqlite")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bulkpin", "verify", "--from", str(cids), "--gateway", cloud_url,
         "--verify-journal", str(journal), "--json", "-q"],
        capture_output=True, text=True, check=False, timeout=3600)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"verify exited {proc.returncode}: {proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout.splitlines()[-1])
    if summary.get("counts", {}).get("retrievable") != count:
        raise RuntimeError(f"verify did not check all {count} CIDs: {summary.get('counts')}")
    return seconds


def _curl(cloud_url: str, cids: list[str], config: Path, least: int) -> float:
    """Wall seconds of ``curl --parallel`` fetching every CID's CAR to /dev/null.

    Raises if the CARs hold fewer than ``least`` bytes: then curl was not given
    what verify checks.
    """
    config.write_text("".join(
        f'url = "{cloud_url}/ipfs/{cid}?format=car&dag-scope=all"\noutput = "/dev/null"\n'
        for cid in cids))
    started = time.perf_counter()
    proc = subprocess.run(
        ["curl", "-sS", "--fail", "--parallel", "--parallel-max",
         str(DEFAULT_VERIFY_CONCURRENCY), "-H", "Accept: application/vnd.ipld.car",
         "-w", "%{size_download}\\n", "-K", str(config)],
        capture_output=True, text=True, check=True, timeout=3600)
    seconds = time.perf_counter() - started
    fetched = sum(int(n) for n in proc.stdout.split())
    if fetched < least:
        raise RuntimeError(f"curl fetched {fetched} bytes of CARs for {least} bytes of files")
    return seconds


def _workload(ctx: Context, name: str, count: int, size: int) -> tuple[list[float], list[float]]:
    """(verify's seconds, curl's), one each a repeat, for ``count`` files of ``size`` bytes."""
    tree = ctx.workdir / name
    tree.mkdir()
    files = [_distinct(tree / f"f{i:05}", size, i) for i in range(count)]
    cids = [hash_file(f).cid for f in files]
    listing = ctx.workdir / f"{name}.cids"
    listing.write_text("".join(f"{cid}\n" for cid in cids))
    verify_s: list[float] = []
    curl_s: list[float] = []
    with _service(ctx.workdir).start() as svc:
        pushed = _push(svc, ctx.workdir, tree)
        if pushed.summary.get("snapshot", {}).get("pinned") != count:
            raise RuntimeError(f"push did not pin the {name} tree: {pushed.summary}")
        for _ in range(ctx.repeats):
            verify_s.append(_verify(svc.cloud_url, listing, count))
            curl_s.append(_curl(svc.cloud_url, cids, ctx.workdir / f"{name}.curl", count * size))
    return verify_s, curl_s


def _distinct(path: Path, size: int, seed: int) -> Path:
    """Seeded bytes with no repeated leaf: a CAR holds each distinct block once, so a
    file of repeated pieces would make a small CAR of a large file."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def run(ctx: Context) -> list[Result]:
    count = ctx.scale(2000, 40)
    small_v, small_c = _workload(ctx, "small", count, 4096)
    big_count, big_size = ctx.scale(8, 2), ctx.scale(64 * MiB, 2 * MiB)
    big_v, big_c = _workload(ctx, "large", big_count, big_size)
    v_small, c_small = statistics.median(small_v), statistics.median(small_c)
    v_big, c_big = statistics.median(big_v), statistics.median(big_c)
    nbytes = big_count * big_size
    spread = {"verify_s": small_v, "curl_s": small_c}
    return [
        Result("verify", f"{count} x 4 KiB: CIDs verified/s", count / v_small, "CIDs/s", "",
               None, {"curl_cids_s": count / c_small, **spread}),
        Result("verify", f"{count} x 4 KiB: verify / curl CIDs/s", c_small / v_small, "x",
               "", None, spread),
        Result("verify", f"{big_count} x {big_size // MiB} MiB: verify throughput",
               nbytes / v_big / MiB, "MiB/s", "", None,
               {"curl_mib_s": nbytes / c_big / MiB, "verify_s": big_v, "curl_s": big_c}),
        Result("verify", f"{big_count} x {big_size // MiB} MiB: verify / curl bytes/s",
               c_big / v_big, "x", "", None, {"verify_s": big_v, "curl_s": big_c}),
    ]
