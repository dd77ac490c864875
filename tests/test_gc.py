"""The cycle collector's setting: the console script's, never a library caller's."""

from __future__ import annotations

import subprocess
import sys

from bulkpin._gc import YOUNG_THRESHOLD


def _threshold_after(code: str) -> tuple[int, ...]:
    # A fresh interpreter each: the collector's setting is the process's.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return tuple(int(x) for x in out.split()[-3:])


def test_the_console_script_raises_the_young_threshold_only() -> None:
    default = _threshold_after("import gc; print(*gc.get_threshold())")
    tuned = _threshold_after(
        "import gc, bulkpin.cli as c\n"
        "c.cli = lambda **kw: print(*gc.get_threshold())\n"
        "c.main()\n"
    )
    assert tuned == (YOUNG_THRESHOLD, *default[1:])
    assert tuned[0] > default[0]


def test_running_the_cli_in_process_leaves_the_collector_alone() -> None:
    default = _threshold_after("import gc; print(*gc.get_threshold())")
    after = _threshold_after(
        "import gc\n"
        "from click.testing import CliRunner\n"
        "from bulkpin.cli import cli\n"
        "assert CliRunner().invoke(cli, ['--version']).exit_code == 0\n"
        "print(*gc.get_threshold())\n"
    )
    assert after == default
