"""Workload 1: the CID engine against the limit, hashlib.sha256 over the same bytes.

Where Node is present, also against the reference JS importer
(ipfs-unixfs-importer, run by ``js_importer.mjs``) on the same file. Also the
thread pool: many files hashed with every core against one thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from bulkpin.unixfs import TreeEntry, TreeImporter, hash_file
from bulkpin.unixfs.file_builder import READ_SIZE

from .harness import Context, Result, Timing, interleaved, warm, write_file

MiB = 1 << 20

_JS_SCRIPT = Path(__file__).with_name("js_importer.mjs")
#: Where the golden-vector generator pins the importer; gitignored, so absent
#: on a clean checkout (CI) until someone runs ``npm ci`` there.
_NODE_MODULES = Path(__file__).resolve().parent.parent / "tests" / "golden" / "node_modules"


def _sha256_file(path: Path) -> str:
    """The limit: one sha256 over the file, read with the engine's buffer size."""
    h = hashlib.sha256()
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def _js_unavailable() -> str | None:
    """Why the JS importer cannot run here, or None if it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (_NODE_MODULES / "ipfs-unixfs-importer" / "package.json").is_file():
        # Installing it is a deliberate step, never a side effect of a benchmark.
        return "ipfs-unixfs-importer is not installed (cd tests/golden && npm ci)"
    return None


def _js_import(path: Path, expected_cid: str) -> tuple[float, str]:
    """Seconds the JS importer spent on ``path`` (timed inside Node) and its version.

    Node's startup and module loading are not in the figure, so the ratio
    compares the importers, not the runtimes' start-up costs.
    """
    proc = subprocess.run(
        ["node", str(_JS_SCRIPT), str(path), str(_NODE_MODULES)],
        capture_output=True, text=True, check=False, timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"js_importer.mjs failed: {proc.stderr.strip()}")
    answer = json.loads(proc.stdout)
    # A different CID means different work was timed: no ratio can stand for that.
    if answer["cid"] != expected_cid:
        raise RuntimeError(f"ipfs-unixfs-importer gave {answer['cid']}, bulkpin {expected_cid}")
    return float(answer["seconds"]), str(answer["version"])


def _import_all(paths: list[Path], workers: int) -> int:
    importer = TreeImporter(hash_workers=workers)
    return sum(1 for r in importer.run([str(p) for p in paths]) if isinstance(r, TreeEntry))


def run(ctx: Context) -> list[Result]:
    size = ctx.scale(512 * MiB, 8 * MiB)
    big = write_file(ctx.workdir / "big.bin", size)
    warm(big)
    cid = hash_file(big).cid  # what the JS importer must reproduce
    js_unavailable = _js_unavailable()
    js_runs: list[tuple[float, str]] = []
    contenders = {"engine": lambda: hash_file(big), "sha256": lambda: _sha256_file(big)}
    if js_unavailable is None:
        # Its wall time here includes Node's startup; its figure is the one Node reports.
        contenders["js"] = lambda: js_runs.append(_js_import(big, cid))
    t = interleaved(ctx.repeats, **contenders)
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
    if js_unavailable is not None:
        skipped = f"skipped: ipfs-unixfs-importer (Node), {js_unavailable}"
        results.append(Result("cid_engine", skipped, 0, ""))
    else:
        js_t = Timing([seconds for seconds, _ in js_runs])
        js_ratio = js_t.median / t["engine"].median
        metric = (
            f"CID of {size // MiB} MiB: bulkpin engine / ipfs-unixfs-importer (Node) throughput"
        )
        results.append(
            Result(
                "cid_engine", metric, js_ratio, "x",
                details={
                    "engine_s": t["engine"].samples, "js_s": js_t.samples,
                    "js_wall_s": t["js"].samples, "js_MiB_s": size / MiB / js_t.median,
                    "ipfs_unixfs_importer": js_runs[0][1],
                },
            )
        )

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
