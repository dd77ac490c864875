"""Names with terminal escapes are printed escaped, as ``ls -b`` does (issue 25, item 7).

Raw, ``\\x1b]0;...\\x07`` sets the window title and ``\\x1b[2J`` clears the
screen: through ``push``'s failure lines, ``status`` and ``ls``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bulkpin.cli.terminal_text import for_terminal
from tests.support.cli import bulkpin
from tests.support.push import run_push
from tests.support.service import ServiceProcess

HOSTILE = "evil\x1b]0;pwned\x07\x1b[2J[bold]x"
SHOWN = "evil\\e]0;pwned\\a\\e[2J[bold]x"


def test_for_terminal_escapes_as_ls_b() -> None:
    assert for_terminal(HOSTILE) == SHOWN
    assert for_terminal("tab\there\nnew") == "tab\\there\\nnew"
    assert for_terminal("back\\slash") == "back\\\\slash"  # an escape cannot be forged
    assert for_terminal(os.fsdecode(b"caf\xff")) == "caf\\377"  # the byte that was not UTF-8
    assert for_terminal("\u202e") == "\\342\\200\\256"  # a bidi override, as UTF-8 bytes
    assert for_terminal("café 日本.txt") == "café 日本.txt"  # printable text untouched


def _bulkpin(service: ServiceProcess, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return bulkpin(*args, "--profile", service.profile_path)


def test_push_status_and_ls_escape_names(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    service = service_factory("--max-upload-size", "100")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / f"{HOSTILE}-big").write_bytes(b"x" * 1000)  # over the limit: fails (413)
    (tree / f"{HOSTILE}-small").write_bytes(b"x")
    journal = tmp_path / "j.sqlite"
    pushed = run_push(service, tree, "--journal", journal)
    assert pushed.returncode == 1, pushed.stderr[-2000:]
    status = subprocess.run([sys.executable, "-m", "bulkpin", "status", "--journal", journal],
                            capture_output=True, text=True, timeout=60, check=False)
    listed = _bulkpin(service, "ls")
    for proc in (pushed, status, listed):
        assert "\x1b" not in proc.stdout + proc.stderr
        assert "\x07" not in proc.stdout + proc.stderr
    assert f"failed: t/{SHOWN}-big: " in pushed.stderr
    assert f"failed: t/{SHOWN}-big: " in status.stderr
    assert f"{SHOWN}-small" in listed.stdout
