"""Bad input is one clear error and exit 2, found before anything starts (issue 25, item 5).

Each of these was a traceback and exit 1 ("some files failed"). The embedded
service is the destination where none is named, so "it was not started" is
checked by its notice being absent.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import bulkpin as _bulkpin
from tests.support.cli import bulkpin_process
from tests.support.push import all_pins, run_push, run_push_subprocess
from tests.support.service import ServiceProcess

_EMBEDDED_NOTICE = "No Decoo account configured"


def _refused(proc: subprocess.CompletedProcess[str], error: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert _EMBEDDED_NOTICE not in proc.stderr  # found before the service started
    assert proc.stderr.strip().splitlines()[-1] == f"Error: {error}"


def _tree(root: Path, n: int = 1) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"f{i:03}").write_bytes(f"file {i}\n".encode())
    return root


def test_files_from_with_a_nul_byte(tmp_path: Path) -> None:
    listing = tmp_path / "list"
    listing.write_bytes(b"a\nb\0c\n")
    _refused(_bulkpin("push", "--files-from", listing),
             f"--files-from {listing}: line 2 holds a NUL byte; give one path per line")


@pytest.mark.parametrize(("kind", "reason"), [("missing", "No such file or directory"),
                                              ("directory", "Is a directory")])
def test_files_from_that_cannot_be_read(tmp_path: Path, kind: str, reason: str) -> None:
    listing = tmp_path / "list"
    if kind == "directory":
        listing.mkdir()
    _refused(_bulkpin("push", "--files-from", listing), f"--files-from {listing}: {reason}")


def test_memory_0(tmp_path: Path) -> None:
    _refused(_bulkpin("push", _tree(tmp_path / "t"), "--memory", "0"),
             "Invalid value for '--memory': '0' is under the least allowed, 1 byte(s)")


def test_check_missing_to_in_a_missing_directory(tmp_path: Path) -> None:
    target = tmp_path / "no" / "missing.txt"
    _refused(_bulkpin("check", _tree(tmp_path / "t"), "--missing-to", target),
             f"--missing-to {target}: No such file or directory")


def _damage(journal: Path) -> None:
    """Overwrite the pages of the journal's file rows, keeping its schema and meta readable.

    The journal then opens, and the run fails once it reads or writes a file row.
    """
    with sqlite3.connect(journal) as conn:
        roots = dict(conn.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0"))
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.close()
    damaged = [page for name, page in roots.items()
               if name.startswith(("files", "sqlite_autoindex_files"))]
    damaged += range(max(roots.values()) + 1, pages + 1)
    fd = os.open(journal, os.O_RDWR)
    try:
        for page in damaged:
            os.pwrite(fd, b"\xa5" * page_size, (page - 1) * page_size)
    finally:
        os.close(fd)


def test_a_journal_damaged_mid_run_says_how_to_set_it_aside(
    service: ServiceProcess, tmp_path: Path
) -> None:
    tree = _tree(tmp_path / "t", 300)
    journal = tmp_path / "j.sqlite"
    assert run_push_subprocess(service, tree, "--journal", journal).returncode == 0
    _damage(journal)
    proc = run_push_subprocess(service, tree, "--journal", journal)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    # Found by a write (a commit) or by a read (the planner's, the poller's), as
    # the run's timing has it: both are one line with the way out.
    assert re.match(f"error: cannot (commit|read) the journal {re.escape(str(journal))}:"
                    " database disk image is malformed: the journal is damaged; move it"
                    f" aside \\(mv {re.escape(f'{journal} {journal}.damaged')}", line), line
    # As told: set it aside, run the same command; nothing is sent twice.
    sent = service.stats()["requests"]["pinFile"]
    subprocess.run(["sh", "-c", line.split("(", 1)[1].split(")", 1)[0]], check=True)
    again = run_push_subprocess(service, tree, "--journal", journal)
    assert again.returncode == 0, again.stderr[-2000:]
    assert service.stats()["requests"]["pinFile"] == sent
    assert len(all_pins(service)) == 300


def test_a_fifo_as_profile_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    # open() of a FIFO blocks until a writer comes: on main this run hung there
    # (the timeout of a whole process is the guard), deaf to SIGTERM.
    fifo = tmp_path / "profile.toml"
    os.mkfifo(fifo, 0o600)
    proc = bulkpin_process("push", "--profile", fifo, _tree(tmp_path / "t"))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [f"error: profile {fifo} is not a regular file"]


@pytest.mark.parametrize("flags", [("--chunk-size", "1000"), ("--max-links", "10"),
                                   ("--raw-leaves",),
                                   ("--cid-profile", "unixfs-v1-2025", "--no-raw-leaves")])
def test_cid_options_no_service_can_verify_are_one_usage_error(
    service: ServiceProcess, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    # On main: every file sent, every one refused with 400, exit 1.
    proc = run_push(service, _tree(tmp_path / "t", 3), *flags)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: these CID options make profile unixfs-v"), last
    assert "which no Decoo service can verify" in last
    assert "pinFile" not in service.stats()["requests"]  # nothing was sent


def test_cid_options_still_compute_in_a_dry_run(tmp_path: Path) -> None:
    proc = _bulkpin("push", "--dry-run", "--chunk-size", "1000", _tree(tmp_path / "t"))
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_named_profile_still_pins(service: ServiceProcess, tmp_path: Path) -> None:
    proc = run_push(service, _tree(tmp_path / "t", 3), "--cid-profile", "unixfs-v1-2025")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(all_pins(service)) == 3


def test_a_journal_that_is_not_a_database_says_how_to_set_it_aside(
    service: ServiceProcess, tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    journal.write_bytes(b"not a database " * 100)
    (tmp_path / "j.sqlite-wal").write_bytes(b"stale")
    proc = run_push(service, _tree(tmp_path / "t"), "--journal", journal)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: cannot use the journal {journal}: file is not a database: the journal is"
        f" damaged; move it aside (mv {journal} {journal}.damaged && mv {journal}-wal"
        f" {journal}.damaged-wal && mv {journal}-shm {journal}.damaged-shm) and run the same"
        " command again: a new journal is made,"
        " and the account listing skips every file the account already holds"
    )
    assert "pinFile" not in service.stats()["requests"]
