"""Issue 27's row: ``bulkpin verify`` against ``curl`` fetching the same CARs.

One ``bulkpin serve`` holds a pushed tree and is the trustless gateway. For each
workload (many small files: CIDs/s; a few large ones: bytes/s), interleaved:
``bulkpin verify --from CIDS`` (every block hashed, the DAG walked) and ``curl``
fetching each CID's CAR (``?format=car&dag-scope=all``) to /dev/null, checking
nothing, with as many transfers at once as verify's default concurrency.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bulkpin.unixfs import hash_file
from bulkpin.verify import DEFAULT_VERIFY_CONCURRENCY

from .harness import Context, Result, write_file
from .push_bench import _push, _service

MiB = 1 << 20


def _verify(cloud_url: str, cids: Path) -> float:
    """Wall seconds of one ``bulkpin verify`` of the CIDs listed in ``cids``."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bulkpin", "verify", "--from", str(cids), "--gateway", cloud_url,
         "--json", "-q"], capture_output=True, text=True, check=False, timeout=3600)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"verify exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds


def _curl(cloud_url: str, cids: list[str], config: Path) -> float:
    """Wall seconds of ``curl --parallel`` fetching every CID's CAR to /dev/null."""
    config.write_text("".join(
        f'url = "{cloud_url}/ipfs/{cid}?format=car&dag-scope=all"\noutput = "/dev/null"\n'
        for cid in cids))
    started = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "--fail", "--parallel", "--parallel-max",
         str(DEFAULT_VERIFY_CONCURRENCY), "-H", "Accept: application/vnd.ipld.car",
         "-K", str(config)], capture_output=True, check=True, timeout=3600)
    return time.perf_counter() - started


def _workload(ctx: Context, name: str, count: int, size: int) -> tuple[float, float, int]:
    """(verify's median seconds, curl's, bytes) for ``count`` files of ``size`` bytes."""
    tree = ctx.workdir / name
    tree.mkdir()
    files = [write_file(tree / f"f{i:05}", size, seed=i + 1) if size >= MiB else
             _small(tree / f"f{i:05}", size, i) for i in range(count)]
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
            verify_s.append(_verify(svc.cloud_url, listing))
            curl_s.append(_curl(svc.cloud_url, cids, ctx.workdir / f"{name}.curl"))
    return statistics.median(verify_s), statistics.median(curl_s), count * size


def _small(path: Path, size: int, i: int) -> Path:
    path.write_bytes(i.to_bytes(8, "big") * (size // 8))
    return path


def run(ctx: Context) -> list[Result]:
    count = ctx.scale(2000, 40)
    v_small, c_small, _ = _workload(ctx, "small", count, 4096)
    big_count, big_size = ctx.scale(8, 2), ctx.scale(64 * MiB, 2 * MiB)
    v_big, c_big, nbytes = _workload(ctx, "large", big_count, big_size)
    cids_ratio = c_small / v_small
    bytes_ratio = c_big / v_big
    return [
        Result("verify", f"{count} x 4 KiB: CIDs verified/s", count / v_small, "CIDs/s", "",
               None, {"curl_cids_s": count / c_small}),
        Result("verify", f"{count} x 4 KiB: verify / curl CIDs/s", cids_ratio, "x"),
        Result("verify", f"{big_count} x {big_size // MiB} MiB: verify throughput",
               nbytes / v_big / MiB, "MiB/s", "", None, {"curl_mib_s": nbytes / c_big / MiB}),
        Result("verify", f"{big_count} x {big_size // MiB} MiB: verify / curl bytes/s",
               bytes_ratio, "x"),
    ]
