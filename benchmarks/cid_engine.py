"""Workload 1: the CID engine against the limit, hashlib.sha256 over the same bytes.

Also the thread pool: many files hashed with every core against one thread.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from bulkpin.unixfs import TreeEntry, TreeImporter, hash_file
from bulkpin.unixfs.file_builder import READ_SIZE

from .harness import Context, Result, interleaved, warm, write_file

MiB = 1 << 20


def _sha256_file(path: Path) -> str:
    """The limit: one sha256 over the file, read with the engine's buffer size."""
    h = hashlib.sha256()
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _import_all(paths: list[Path], workers: int) -> int:
    importer = TreeImporter(hash_workers=workers)
    return sum(1 for r in importer.run([str(p) for p in paths]) if isinstance(r, TreeEntry))


def run(ctx: Context) -> list[Result]:
    size = ctx.scale(512 * MiB, 8 * MiB)
    big = write_file(ctx.workdir / "big.bin", size)
    warm(big)
    t = interleaved(
        ctx.repeats,
        engine=lambda: hash_file(big),
        sha256=lambda: _sha256_file(big),
    )
    ratio = t["sha256"].median / t["engine"].median
    results = [
        Result(
            "cid_engine", f"CID of {size // MiB} MiB / sha256 throughput", ratio, "x",
            target=">= 0.85", ok=ratio >= 0.85,
            details={
                "engine_s": t["engine"].samples, "sha256_s": t["sha256"].samples,
                "engine_MiB_s": size / MiB / t["engine"].median,
            },
        )
    ]

    count, each = ctx.scale(64, 8), ctx.scale(8 * MiB, 256 * 1024)
    files_dir = ctx.workdir / "many"
    files_dir.mkdir()
    files = [write_file(files_dir / f"{i:03}.bin", each) for i in range(count)]
    for f in files:
        warm(f)
    workers = os.cpu_count() or 2
    t = interleaved(
        ctx.repeats,
        pool=lambda: _import_all(files, workers),
        single=lambda: _import_all(files, 1),
    )
    speedup = t["single"].median / t["pool"].median
    results.append(
        Result(
            "cid_engine", f"{count} files x {each // 1024} KiB: {workers} threads / 1 thread",
            speedup, "x", target=">= 1.6 (2 cores)", ok=speedup >= 1.6 if workers >= 2 else None,
            details={"pool_s": t["pool"].samples, "single_s": t["single"].samples},
        )
    )
    return results
