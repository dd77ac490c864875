"""The embedded service lives and dies with its push (issue 25, item 4).

A ``kill -9`` of the push (BULKPIN_CRASH_AT) must not leave its ``bulkpin
serve`` running under PID 1; a SIGHUP (a closed terminal) stops a push as
SIGTERM does, resumable. Waits are bounded polls, not timings.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bulkpin.service.config import default_data_dir
from tests.support.push import all_pins, push_command, run_push
from tests.support.service import ServiceProcess, wait_for

KiB = 1024


def _tree(root: Path, n: int = 8) -> int:
    root.mkdir()
    for i in range(n):
        (root / f"f-{i:02}").write_bytes(os.urandom(64 * KiB + i))
    return n


def _alive(pid: int) -> bool:
    """Running: a zombie nobody reaped (PID 1 in a container may not) has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _services_on(data_dir: Path) -> list[int]:
    """Pids of the live ``bulkpin serve`` processes serving from ``data_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and os.fsencode(data_dir) in argv and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _embedded_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BULKPIN_PROFILE"}
    env.update(extra)
    return env


def test_kill_9_of_a_push_ends_its_embedded_service(tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    data_dir = default_data_dir()
    crashed = subprocess.run(
        [sys.executable, "-m", "bulkpin", "push", str(tmp_path / "t"), "--concurrency", "1"],
        capture_output=True, text=True, timeout=120, check=False,
        env=_embedded_env(BULKPIN_CRASH_AT="sending:2"),
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert "local Decoo-compatible service" in crashed.stderr  # it was the embedded one
    # Bounded: the service sees its stdin close and stops (on main it never did).
    wait_for(lambda: not _services_on(data_dir), timeout=30)
    # The next push starts one service on the data dir and finishes the work.
    again = subprocess.run(
        [sys.executable, "-m", "bulkpin", "push", str(tmp_path / "t")],
        capture_output=True, text=True, timeout=120, check=False, env=_embedded_env(),
    )
    assert again.returncode == 0, again.stderr[-2000:]
    wait_for(lambda: not _services_on(data_dir), timeout=30)


def test_sighup_stops_a_push_like_sigterm_and_it_resumes(
    service: ServiceProcess, tmp_path: Path
) -> None:
    n = _tree(tmp_path / "t", 12)
    args = (tmp_path / "t", "--journal", tmp_path / "j.sqlite", "--concurrency", "2")
    stopped = subprocess.run(push_command(service, *args), capture_output=True, text=True,
                             timeout=120, check=False,
                             env=_embedded_env(BULKPIN_SIGNAL_AT="sending:2:SIGHUP"))
    assert stopped.returncode == 3, stopped.stderr[-3000:]
    assert "Traceback" not in stopped.stderr
    assert "Run the same command to resume" in stopped.stderr
    resumed = run_push(service, *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert service.stats()["duplicate_jobs"] == 0
    assert len(all_pins(service)) == n


def test_a_push_waits_for_the_service_already_on_its_data_dir(tmp_path: Path) -> None:
    _tree(tmp_path / "t", 2)
    data_dir = default_data_dir()
    holder = ServiceProcess(data_dir, log_path=tmp_path / "holder.log").start()
    holder_pid = holder.pid
    try:
        push = subprocess.Popen(
            [sys.executable, "-m", "bulkpin", "push", str(tmp_path / "t")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_embedded_env(),
        )
        log = data_dir / "embedded.log"
        # Its service waits for the data dir (on main: a second service started on it).
        wait_for(lambda: log.exists() and "waiting up to" in log.read_text())
    finally:
        holder.stop()
    _, stderr = push.communicate(timeout=120)
    assert push.returncode == 0, stderr[-2000:]
    assert f"in use by another bulkpin serve (pid {holder_pid})" in log.read_text()
