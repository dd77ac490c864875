"""Run the benchmarks: ``python -m benchmarks [--smoke] [--scale] [--only NAME] [--out DIR]``.

``--only MODULE:FUNCTION`` runs one workload of a module (``push_bench:big_file``)
instead of its whole ``run``, to iterate on one figure.

Writes ``results.json`` and ``results.md`` to ``--out`` (default
``benchmarks/results/``) and prints the Markdown table. ``--smoke`` uses tiny
sizes so CI checks that every benchmark still runs; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from .harness import Context, Result

#: Benchmark modules, each with ``run(ctx: Context) -> list[Result]``.
BENCHMARKS = [
    "bwlimit",
    "cid_engine",
    "client_cpu",
    "client_upload",
    "concurrent_runs",
    "listing_rss",
    "pin_bench",
    "processes",
    "push_bench",
    "s3_push",
    "service_upload",
    "verify_bench",
    "wan_bench",
]

#: Run only when asked (``--scale`` or ``--only``): about an hour at full size.
#: Their smoke sizes are quick, so ``--smoke`` runs them too.
ON_REQUEST = ["scale_bench"]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _markdown(results: list[Result], machine: str) -> str:
    lines = [
        f"Machine: {machine}",
        "",
        "| benchmark | metric | value | target | ok |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        ok = "" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append(f"| {r.benchmark} | {r.metric} | {r.value:.3g} {r.unit} | {r.target} | {ok} |")
    return "\n".join(lines) + "\n"


def _compile_bulkpin() -> None:
    """Write bulkpin's bytecode once, as ``pip install`` does for an installed copy.

    An editable checkout run with PYTHONDONTWRITEBYTECODE (as CI and this
    project's machines set it) has none, so every ``bulkpin`` child the
    benchmarks start recompiled the package: 15-20 ms of CPU on each start-up,
    which no user pays and which start-up figures (``bulkpin cid``, W2's CPU
    per GiB) would otherwise carry.
    """
    import bulkpin  # noqa: PLC0415 - only its location is needed here

    compileall.compile_dir(Path(bulkpin.__file__).parent, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; checks the suite runs")
    parser.add_argument("--scale", action="store_true",
                        help="run the scale benchmark (1,000,000 files) only")
    parser.add_argument("--only", action="append", default=[],
                        help="run only these benchmarks (MODULE or MODULE:FUNCTION)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per contender")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    names = args.only or (ON_REQUEST if args.scale else
                          BENCHMARKS + ON_REQUEST if args.smoke else BENCHMARKS)
    repeats = args.repeats or (1 if args.smoke else 5)
    results: list[Result] = []
    started = time.time()
    _compile_bulkpin()
    with tempfile.TemporaryDirectory(prefix="bulkpin-bench-") as tmp:
        for name in names:
            module_name, _, function = name.partition(":")
            module = importlib.import_module(f"benchmarks.{module_name}")
            workdir = Path(tmp) / name.replace(":", "-")
            workdir.mkdir()
            ctx = Context(smoke=args.smoke, workdir=workdir, repeats=repeats)
            print(f"== {name}", file=sys.stderr, flush=True)
            results.extend(getattr(module, function or "run")(ctx))
    machine = _machine()
    table = _markdown(results, machine)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(table)
    payload = {
        "machine": machine,
        "smoke": args.smoke,
        "repeats": repeats,
        "seconds": round(time.time() - started, 1),
        "results": [dataclasses.asdict(r) for r in results],
    }
    (args.out / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(table)
    failed = [r for r in results if r.ok is False]
    # Smoke runs check that benchmarks work, not that targets are met.
    return 0 if args.smoke or not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
