"""A paced network link as a process of its own: a :class:`~bulkpin.testing.ChaosProxy`.

``python -m benchmarks._link TARGET_URL RATE [RCVBUF]`` relays to
``TARGET_URL`` with every connection paced to ``RATE`` bytes per second both
ways, prints its own URL on one line, and runs until its standard input
closes. :func:`paced_link` starts one from a benchmark.

Why a process: two links that are far apart in the world must not share one
interpreter lock here. Run as threads of the benchmark, a link carrying the
download and a link carrying the upload at the same time slow each other
down (and the benchmark's own download loop), which the world does not.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

from bulkpin.testing.proxy import ChaosProxy, Fault


@contextlib.contextmanager
def paced_link(target_url: str, rate: int, rcvbuf: int | None = None) -> Iterator[str]:
    """The URL of a paced link to ``target_url``, for the duration of the block."""
    cmd = [sys.executable, "-m", "benchmarks._link", target_url, str(rate)]
    if rcvbuf is not None:
        cmd.append(str(rcvbuf))
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            url = proc.stdout.readline().strip()
            if not url.startswith("http"):
                raise RuntimeError(f"the link to {target_url} did not start")
            yield url
        finally:
            proc.stdin.close()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main(argv: list[str]) -> None:
    target, rate = argv[0], int(argv[1])
    rcvbuf = int(argv[2]) if len(argv) > 2 else None
    with ChaosProxy(target, rcvbuf=rcvbuf) as proxy:
        proxy.set_fault(Fault("slow", rate=rate))
        print(proxy.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1:])
