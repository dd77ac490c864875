"""Workload 1: the CID engine against the limit, hashlib.sha256 over the same bytes.

Where Node is present, also against the reference JS importer
(ipfs-unixfs-importer, run by ``js_importer.mjs``) on the same file. Also the
thread pool: many files hashed with every core against one thread; and one
large file on every core, as a user runs it: the whole ``bulkpin cid``
process against one thread of sha256 over the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bulkpin.unixfs import TreeEntry, TreeImporter, hash_file
from bulkpin.unixfs.file_builder import READ_SIZE

from .harness import Context, Result, Timing, interleaved, warm, write_file

GiB = 1 << 30

MiB = 1 << 20

_JS_SCRIPT = Path(__file__).with_name("js_importer.mjs")
#: Where the golden-vector generator pins the importer; gitignored, so absent
#: on a clean checkout (CI) until someone runs ``npm ci`` there.
_NODE_MODULES = Path(__file__).resolve().parent.parent / "tests" / "golden" / "node_modules"


def _sha256_file(path: Path) -> str:
    """The limit: one sha256 over the file, read with the engine's buffer size.

    The buffer is page-aligned: a fresh bytearray's bytes sit 16 bytes past a
    cache line, which made the kernel's copy 5x slower here and flattered
    every ratio against this baseline.
    """
    h = hashlib.sha256()
    with (
        mmap.mmap(-1, READ_SIZE) as buf,
        memoryview(buf) as view,
        path.open("rb", buffering=0) as f,
    ):
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


def _bulkpin_command() -> list[str]:
    """The ``bulkpin`` console script beside this interpreter, as a user runs it.

    ``python -m bulkpin`` when there is none (an uninstalled checkout); that adds
    runpy's few milliseconds of start-up to a figure start-up is part of.
    """
    script = Path(sys.executable).with_name("bulkpin")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bulkpin"]


def _cid_process(path: Path, *extra: str) -> None:
    """``bulkpin cid PATH`` as a user runs it: a whole process, start-up included."""
    subprocess.run([*_bulkpin_command(), "cid", *extra, str(path)],
                   check=True, stdout=subprocess.DEVNULL)


def _cid_measured(path: Path, *extra: str) -> dict[str, float]:
    """CPU seconds and peak RSS (the process's own VmHWM) of one ``bulkpin cid``.

    A separate, untimed run: ``benchmarks._measure`` adds imports of its own,
    which the timed runs should not pay.
    """
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-m", "benchmarks._measure", out.name, "bulkpin", "cid",
             *extra, str(path)],
            check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parent.parent,
        )
        report: dict[str, float] = json.loads(Path(out.name).read_text())
        return report


def _one_large_file(ctx: Context) -> list[Result]:
    """Target 1 of issue 17: one file's leaves on every core, whole process."""
    size = ctx.scale(GiB, 24 * MiB)  # 24 MiB still takes the parallel path
    big = write_file(ctx.workdir / "one-large.bin", size)
    warm(big)
    workers = os.cpu_count() or 2
    t = interleaved(
        ctx.repeats,
        sha256=lambda: _sha256_file(big),
        cid=lambda: _cid_process(big),
        cid_1=lambda: _cid_process(big, "--hash-workers", "1"),
    )
    many = [_cid_measured(big) for _ in range(2)]
    one = [_cid_measured(big, "--hash-workers", "1") for _ in range(2)]
    ratio = t["sha256"].median / t["cid"].median
    rss_mib = max(r["maxrss_kib"] for r in many) / 1024
    label = f"{size // MiB} MiB" if size < GiB else f"{size // GiB} GiB"

    def spread(name: str) -> list[float]:
        return [round(x, 3) for x in t[name].spread]

    details = {
        "cid_s": t["cid"].samples, "cid_1_thread_s": t["cid_1"].samples,
        "sha256_s": t["sha256"].samples,
        "cid_median_s": t["cid"].median, "cid_spread_s": spread("cid"),
        "cid_1_thread_median_s": t["cid_1"].median, "cid_1_thread_spread_s": spread("cid_1"),
        "sha256_median_s": t["sha256"].median, "sha256_spread_s": spread("sha256"),
        "cid_cpu_s": [r["cpu_s"] for r in many], "cid_1_thread_cpu_s": [r["cpu_s"] for r in one],
        "cid_peak_rss_mib": [round(r["maxrss_kib"] / 1024, 1) for r in many],
        "cid_1_thread_peak_rss_mib": [round(r["maxrss_kib"] / 1024, 1) for r in one],
        "hash_workers": workers,
    }
    return [
        Result(
            "cid_engine",
            f"bulkpin cid of one {label} file (whole process, {workers} hash workers)"
            " / sha256 throughput (1 thread)",
            ratio, "x", target=">= 1.5 (2 cores)", ok=ratio >= 1.5 if workers >= 2 else None,
            details=details,
        ),
        Result(
            "cid_engine", f"bulkpin cid of one {label} file: {workers} hash workers / 1",
            t["cid_1"].median / t["cid"].median, "x", details=details,
        ),
        Result(
            "cid_engine", f"bulkpin cid of one {label} file: peak RSS (VmHWM)",
            rss_mib, "MiB", target="< 64", ok=rss_mib < 64, details=details,
        ),
    ]


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
    results.extend(_one_large_file(ctx))
    return results
