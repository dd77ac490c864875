"""Workload: one big file uploaded to ``bulkpin serve`` with ``curl -F``.

Throughput is reported as a ratio of ``hashlib.sha256`` over the same bytes in
the same run (the service hashes and writes every byte, so it cannot beat
that), and memory as the serve process's peak RSS (VmHWM), which must stay
flat however large the file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bulkpin.service import ServeProcess
from bulkpin.testing import Account, access_token
from bulkpin.unixfs import hash_file
from bulkpin.unixfs.file_builder import READ_SIZE

from .harness import Context, Result, peak_rss_kib, warm, write_file

MiB = 1 << 20


def _sha256_file(path: Path) -> None:
    h = hashlib.sha256()
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])


def _curl_upload(url: str, token: str, path: Path, cid: str, secret: str) -> None:
    result = subprocess.run(
        ["curl", "-sS", "--fail-with-body", "-H", f"UserAccessToken: {token}",
         "-F", f"file=@{path}", "-F", f"cid={cid}", "-F", f"secret={secret}",
         url + "/pinning/pinFile"],
        capture_output=True, text=True, check=False, timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"curl failed: {result.stderr} {result.stdout}")
    answer = json.loads(result.stdout)
    if answer.get("PinHash") != cid:
        raise RuntimeError(f"unexpected answer {answer}")


def run(ctx: Context) -> list[Result]:
    if shutil.which("curl") is None:
        return [Result("service_upload", "skipped: curl is not installed", 0, "")]
    size = ctx.scale(1024 * MiB, 8 * MiB)
    big = write_file(ctx.workdir / "big.bin", size)
    cid = hash_file(big).cid
    warm(big)
    # The data dir on the same file system as a real one would be (not tmpfs).
    data_root = Path(tempfile.mkdtemp(prefix="bulkpin-bench-serve-", dir=ctx.workdir))
    with ServeProcess(data_root / "data").start() as svc:
        account = Account.load(svc.profile_path)
        token = access_token(svc, account)
        secret = account.sign(cid)
        url = svc.endpoint_urls[0]
        upload_s: list[float] = []
        sha_s: list[float] = []
        for _ in range(ctx.repeats):  # interleaved, so drift hits both alike
            start = time.perf_counter()
            _sha256_file(big)
            sha_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            _curl_upload(url, token, big, cid, secret)
            upload_s.append(time.perf_counter() - start)
        rss_mib = peak_rss_kib(svc.pid) / 1024
    concurrent = _concurrent(ctx, data_root)
    ratios = [s / u for s, u in zip(sha_s, upload_s, strict=True)]
    ratio = statistics.median(sha_s) / statistics.median(upload_s)
    return [
        Result(
            "service_upload", f"curl -F {size // MiB} MiB to pinFile / sha256 throughput",
            ratio, "x", target=">= 0.5", ok=ratio >= 0.5,
            details={"upload_s": upload_s, "sha256_s": sha_s,
                     "ratio_spread": [min(ratios), max(ratios)],
                     "upload_MiB_s": size / MiB / statistics.median(upload_s)},
        ),
        Result(
            "service_upload", "serve peak RSS (VmHWM)", rss_mib, "MiB", target="< 100",
            ok=rss_mib < 100,
        ),
        *concurrent,
    ]


#: Large uploads at once, as a push of big files sends them.
CONCURRENT = 16


def _concurrent(ctx: Context, data_root: Path) -> list[Result]:
    """The service's peak RSS while CONCURRENT large files arrive at once.

    Each upload has one stage of its own and the rest of its ring comes from a
    shared budget (``--upload-memory``, 48 MiB by default). The baseline, in
    the same run, is a budget big enough for every upload's whole ring (16 MiB
    each), which is how the service worked before the budget.
    """
    size = ctx.scale(64 * MiB, 8 * MiB)
    files = [write_file(ctx.workdir / f"concurrent-{i}.bin", size, seed=i)
             for i in range(CONCURRENT)]
    cids = [hash_file(f).cid for f in files]
    budgeted, stages = _concurrent_rss(data_root / "budget", files, cids)
    whole, _ = _concurrent_rss(data_root / "whole-rings", files, cids,
                               "--upload-memory", f"{CONCURRENT * 16}MiB")
    for f in files:
        f.unlink()
    what = f"{CONCURRENT} concurrent {size // MiB} MiB uploads"
    return [
        Result("service_upload", f"serve peak RSS, {what} (VmHWM)", budgeted, "MiB",
               details={"upload_stages": stages}),
        Result("service_upload", f"peak RSS, {what}: shared stage budget / whole rings",
               budgeted / whole, "x", target="< 1", ok=budgeted < whole,
               details={"whole_rings_MiB": whole}),
    ]


def _concurrent_rss(
    data_dir: Path, files: list[Path], cids: list[str], *serve_args: str
) -> tuple[float, dict[str, int]]:
    for f in files:
        warm(f)
    with ServeProcess(data_dir, *serve_args).start() as svc:
        account = Account.load(svc.profile_path)
        token = access_token(svc, account)
        url = svc.endpoint_urls[0]
        with ThreadPoolExecutor(len(files)) as pool:
            list(pool.map(
                lambda pair: _curl_upload(url, token, pair[0], pair[1], account.sign(pair[1])),
                zip(files, cids, strict=True),
            ))
        return peak_rss_kib(svc.pid) / 1024, svc.stats()["upload_stages"]
