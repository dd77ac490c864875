"""The "No Decoo account configured" notice (issue 26, item 8): told, not repeated.

A command that uploads tells it every time (where the files went); the
read-only ones (``ls``, ``jobs``, ``check``) once per user state directory;
none with ``-q``. Each test has its own HOME and XDG dirs (conftest), so
"once" starts afresh in each.
"""

from __future__ import annotations

from pathlib import Path

from bulkpin.target import notice_marker
from tests.support.cli import bulkpin as _bulkpin

NOTICE = "No Decoo account configured"


def _told(*args: str | Path, status: int = 0) -> bool:
    proc = _bulkpin(*args)
    assert proc.returncode == status, proc.stderr[-2000:]
    return NOTICE in proc.stderr


def test_read_only_commands_tell_it_once_and_quiet_ones_never(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"some bytes")
    # Quiet first: told nothing, and that does not count as told.
    assert not _told("ls", "-q")
    # check: exit 1, the file is not on the account (nothing was pushed).
    assert not _told("check", "-q", tree, status=1)
    assert not notice_marker().exists()
    assert _told("ls")
    assert notice_marker().exists()
    assert not _told("jobs")
    assert not _told("check", tree, status=1)
    assert not _told("ls")


def test_a_push_tells_it_every_time_but_not_quiet(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"some bytes")
    assert _told("ls")  # the read-only once is spent
    assert _told("push", tree)
    assert _told("push", tree)
    assert not _told("push", "-q", tree)
