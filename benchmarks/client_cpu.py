"""Issue 28's client CPU targets: small files, start-up and large files.

Client CPU only (user+sys of the client process, ``benchmarks._measure``); the
service runs beside it, so the figures hold whatever the service costs.

1. ``small_files``: 5,000 files of 4 KiB in 50 directories, waiting for pins:
   ``bulkpin push`` against the minimal concurrent client
   (:mod:`benchmarks.minimal_client`), interleaved, each on a fresh service.
2. ``large_files``: marginal CPU per GiB, (3 GiB push - 1 GiB push) / 2, against
   the marginal sha256 + ``curl -F`` CPU per GiB measured the same way: the
   start-up and set-up that both sizes pay cancel out.
3. ``startup``: ``bulkpin push`` of one tiny file to a running service, next to
   the bare interpreter's start-up in the same run.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from bulkpin.unixfs import hash_file

from .harness import Context, Result, warm, write_file
from .push_bench import _curl, _measured, _push, _service, _sha256_cpu_s

MiB = 1 << 20
GiB = 1 << 30


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _small_tree(root: Path, count: int, dirs: int, size: int) -> Path:
    """``count`` distinct ``size``-byte files spread evenly over ``dirs`` directories."""
    root.mkdir()
    per_dir = -(-count // dirs)
    for i in range(count):
        d = root / f"d{i // per_dir:03}"
        d.mkdir(exist_ok=True)
        (d / f"f{i:06}").write_bytes(i.to_bytes(8, "big") * (size // 8))
    return root


def small_files(ctx: Context) -> list[Result]:
    """Target 1: client CPU per small file, push / the minimal client."""
    count = ctx.scale(5000, 200)
    tree = _small_tree(ctx.workdir / "small", count, ctx.scale(50, 5), 4096)
    push_ms: list[float] = []
    base_ms: list[float] = []
    for _ in range(ctx.repeats):
        with _service(ctx.workdir).start() as svc:
            m = _push(svc, ctx.workdir, tree)
            pinned = m.summary.get("snapshot", {}).get("pinned")
            if pinned != count:
                raise RuntimeError(f"push pinned {pinned} of {count} files")
            push_ms.append(m.cpu_s / count * 1000)
        with _service(ctx.workdir).start() as svc:
            b = _measured(["benchmarks.minimal_client", str(svc.profile_path), str(tree)],
                          ctx.workdir)
            base_ms.append(b.cpu_s / count * 1000)
    ratio = _median(push_ms) / _median(base_ms)
    return [
        Result("client_cpu", f"T1 {count} x 4 KiB: client CPU per file, push", _median(push_ms),
               "ms", "", None, {"samples": push_ms}),
        Result("client_cpu", f"T1 {count} x 4 KiB: client CPU per file, minimal client",
               _median(base_ms), "ms", "", None, {"samples": base_ms}),
        Result("client_cpu", "T1 client CPU per small file: push / minimal client", ratio, "x",
               "<= 1.3", ratio <= 1.3, {"push_ms": push_ms, "minimal_ms": base_ms}),
    ]


def startup(ctx: Context) -> list[Result]:
    """Target 3: client CPU of ``bulkpin push`` of one tiny file to a running service."""
    push_s: list[float] = []
    bare_s: list[float] = []
    with _service(ctx.workdir).start() as svc:
        for i in range(max(ctx.repeats, 3)):
            tree = ctx.workdir / f"one-{i}"
            tree.mkdir()
            # New content each time: every push uploads and waits for its pin.
            (tree / "tiny.txt").write_bytes(f"tiny {i} {time.time_ns()}\n".encode())
            m = _push(svc, ctx.workdir, tree)
            if m.summary.get("snapshot", {}).get("pinned") != 1:
                raise RuntimeError(f"the tiny push did not pin its file: {m.summary}")
            push_s.append(m.cpu_s)
            bare_s.append(_measured(["benchmarks._nothing"], ctx.workdir).cpu_s)
    cpu = _median(push_s)
    return [
        Result("client_cpu", "T3 push of one tiny file to a running service: client CPU", cpu,
               "s", "<= 0.25", cpu <= 0.25, {"samples": push_s}),
        Result("client_cpu", "T3 the bare interpreter's start-up (same run)", _median(bare_s),
               "s", "", None, {"samples": bare_s}),
    ]


def large_files(ctx: Context) -> list[Result]:
    """Target 2: marginal client CPU per GiB, push / (sha256 + curl -F)."""
    small, large = ctx.scale(1 * GiB, 8 * MiB), ctx.scale(3 * GiB, 24 * MiB)
    marginal_gib = (large - small) / GiB
    trees = {}
    for size in (small, large):
        tree = ctx.workdir / f"big-{size}"
        tree.mkdir()
        trees[size] = write_file(tree / "big.bin", size)
    cids = {size: hash_file(path).cid for size, path in trees.items()}
    push: dict[int, list[float]] = {small: [], large: []}
    floor: dict[int, list[float]] = {small: [], large: []}
    reads: list[float] = []
    for _ in range(ctx.repeats):
        for size, path in trees.items():
            warm(path)
            with _service(ctx.workdir).start() as svc:
                m = _push(svc, ctx.workdir, path.parent, "--no-wait")
            shutil.rmtree(svc.data_dir)
            push[size].append(m.cpu_s)
            reads.append(m.rchar / size)
            warm(path)
            with _service(ctx.workdir).start() as svc:
                curl = _curl(svc, path, cids[size])
            shutil.rmtree(svc.data_dir)
            floor[size].append(curl.cpu_s + _sha256_cpu_s(path))

    def per_gib(samples: dict[int, list[float]]) -> float:
        return (_median(samples[large]) - _median(samples[small])) / marginal_gib

    client, wire = per_gib(push), per_gib(floor)
    ratio = client / wire
    w7 = _median(reads)
    return [
        Result("client_cpu", "T2 push: marginal client CPU per GiB", client, "s/GiB", "", None,
               {"push_cpu_s": {str(k): v for k, v in push.items()}}),
        Result("client_cpu", "T2 sha256 + curl -F: marginal CPU per GiB", wire, "s/GiB", "",
               None, {"floor_cpu_s": {str(k): v for k, v in floor.items()}}),
        Result("client_cpu", "T2 marginal CPU per GiB: push / (sha256 + curl -F)", ratio, "x",
               "<= 1.1", ratio <= 1.1),
        Result("client_cpu", "T2 W7 bytes read per byte pinned (push, both sizes)", w7, "x",
               "1.0", w7 < 1.05, {"samples": reads}),
    ]


def run(ctx: Context) -> list[Result]:
    if shutil.which("curl") is None:
        return [Result("client_cpu", "skipped: curl is not installed", 0, "")]
    return [*small_files(ctx), *startup(ctx), *large_files(ctx)]
