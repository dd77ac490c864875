"""Duplicate jobs of runs side by side to one account (issue 25, item 3).

Two scenarios against ``bulkpin serve``, each the share of contents the service
got more than one job for (its ``duplicate_jobs`` over the distinct contents):
two trees sharing every content pushed at once, and ``--shard 0/2`` beside
``--shard 1/2`` on a tree whose every file has a copy under another name (on
main: 600 of 600, and 181 of 400). Target: at most 2% each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bulkpin.service import ServeProcess

from .harness import Context, Result, write_file

TARGET = 0.02


def _tree(root: Path, names: list[str], contents: int) -> None:
    for i in range(contents):
        for name in names:
            path = root / name.format(i=i)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file(path, 64 + 997 * i, seed=i + 1)  # seed 0 is random: copies would differ


def _at_once(svc: ServeProcess, workdir: Path, runs: list[list[str]]) -> None:
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "bulkpin", "push", "--profile", str(svc.profile_path), "-q",
         "--journal", str(workdir / f"journal-{time.monotonic_ns()}-{n}.sqlite"), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        stdin=subprocess.DEVNULL) for n, args in enumerate(runs)]
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"push exited {proc.returncode}: {err[-2000:]}")


def _share(workdir: Path, name: str, contents: int, names: list[str],
           runs: list[list[str]]) -> Result:
    base = workdir / f"{name}-{time.monotonic_ns()}"
    _tree(base, names, contents)
    with ServeProcess(base / "serve", "--job-delay", "0.01").start() as svc:
        _at_once(svc, base, [[*args[:-1], str(base / args[-1])] for args in runs])
        duplicates = int(svc.stats()["duplicate_jobs"])
    share = duplicates / contents
    return Result("concurrent runs", f"duplicate-job share: {name}", round(100 * share, 2), "%",
                  f"<= {100 * TARGET:g}%", share <= TARGET,
                  {"duplicate_jobs": duplicates, "contents": contents})


def run(ctx: Context) -> list[Result]:
    shared = ctx.scale(600, 20)
    copies = ctx.scale(400, 20)
    return [
        _share(ctx.workdir, "two trees sharing every content", shared,
               ["one/d{i}/f.bin", "two/other/f{i}.bin"], [["one"], ["two"]]),
        _share(ctx.workdir, "--shard 0/2 and 1/2 on a tree of copies", copies,
               ["tree/a/f{i}.bin", "tree/b/copy{i}.bin"],
               [["--shard", "0/2", "tree"], ["--shard", "1/2", "tree"]]),
    ]
