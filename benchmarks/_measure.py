"""Run a module as ``python -m`` would, and record its own I/O and CPU at exit.

``python -m benchmarks._measure OUT.json MODULE ARGS...``: at exit, writes
``rchar`` (bytes read through read(2), page cache included: the pipeline's own
count of reads) and ``read_bytes`` (from the block layer) from
``/proc/self/io``, plus user/sys CPU and peak RSS, to ``OUT.json``. Benchmarks
use it to count how many times bulkpin reads each byte it pins.
"""

from __future__ import annotations

import atexit
import json
import resource
import runpy
import sys
from pathlib import Path

from .harness import peak_rss_kib


def _dump(out: Path) -> None:
    io: dict[str, int] = {}
    for line in Path("/proc/self/io").read_text().splitlines():
        key, _, value = line.partition(":")
        io[key.strip()] = int(value)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.write_text(json.dumps({
        "rchar": io.get("rchar", 0), "read_bytes": io.get("read_bytes", 0),
        "cpu_s": ru.ru_utime + ru.ru_stime, "maxrss_kib": peak_rss_kib(),
    }))



def main() -> None:
    out, module, *args = sys.argv[1:]
    atexit.register(_dump, Path(out))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
