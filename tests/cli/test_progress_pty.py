"""The live display of a real ``bulkpin push`` on a pseudo-terminal, 100 columns wide.

With ``--bwlimit`` the large file takes a few seconds to send, so the display
is redrawn several times during its upload: its own bar must show its bytes
moving before it ends, not jump from nothing to done.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from tests.support.service import ServiceProcess
from tests.support.terminal import frames, run_on_pty

MiB = 1024 * 1024
BIG = 6 * MiB

#: The large file's own bar: its name, the bar, then "sent/size".
_BIG_BAR = re.compile(r"tree/big\.bin\s+\S+\s+([\d.]+) (B|KiB|MiB)/6\.0 MiB")
_UNITS = {"B": 1, "KiB": 1024, "MiB": MiB}


def make_tree(root: Path) -> None:
    (root / "small").mkdir(parents=True)
    (root / "big.bin").write_bytes(os.urandom(BIG))
    for i in range(5):
        (root / "small" / f"{i}.txt").write_bytes(os.urandom(1000 + i))


def push_on_pty(service: ServiceProcess, tmp_path: Path) -> tuple[int, str]:
    """A real push of a small tree, its large file paced to about three seconds."""
    make_tree(tmp_path / "tree")
    env = {**os.environ, "TERM": "xterm-256color", "NO_COLOR": "1"}
    for variable in ("BULKPIN_PROFILE", "COLUMNS", "LINES"):
        env.pop(variable, None)
    cmd = [sys.executable, "-m", "bulkpin", "push", "--profile", str(service.profile_path),
           "--journal", str(tmp_path / "j.sqlite"), "--bwlimit", "2M/s",
           str(tmp_path / "tree")]
    return run_on_pty(cmd, env=env, columns=100)


def test_a_large_files_bar_moves_before_it_ends(service: ServiceProcess, tmp_path: Path) -> None:
    status, output = push_on_pty(service, tmp_path)
    assert status == 0, output[-3000:]
    shown = frames(output)
    sent = []
    for frame in shown:
        match = _BIG_BAR.search(frame)
        if match:
            sent.append(float(match.group(1)) * _UNITS[match.group(2)])
    moving = sorted({n for n in sent if 0 < n < BIG})
    # Two frames at least, with different byte counts, both before the file ended.
    assert len(moving) >= 2, "\n----\n".join(shown)
    assert all(len(line) <= 100 for frame in shown for line in frame.splitlines())

    # The last frame, drawn from the final state, agrees with the summary under it.
    last = shown[-1]
    final, table = last[: last.index("bulkpin push")], last[last.index("bulkpin push"):]
    assert re.search(r"files .* 6/6\s*\n", final), final
    assert "pinned 6 " in final, final
    assert "walking" not in final
    assert re.search(r"pinned\s+6\s*\n", table), table
    # Human units only: no raw byte counts beside the readable ones.
    assert not re.search(r"\b\d{4,}\b", final), final
