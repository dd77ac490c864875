"""Stopping a push (issue 14): in every phase, by SIGINT or SIGTERM, then resuming.

The signal is sent by the process to itself at a named point of the pipeline
(``BULKPIN_SIGNAL_AT``, see ``core/crashpoints.py``), so each test stops the
run in the phase it names, every time.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import anyio
import pytest

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import NoticeEvent, ProgressEvent, PushEvent, PushOptions, push
from tests.support.push import all_pins, push_command
from tests.support.service import ServiceProcess

KiB, MiB = 1024, 1024 * 1024


def _tree(root: Path) -> int:
    root.mkdir()
    for i in range(12):
        (root / f"small-{i:02}").write_bytes(os.urandom(4 * KiB + i))
    for i in range(3):
        (root / f"large-{i}").write_bytes(os.urandom(3 * MiB + i))
    return 15


def _run(service: ServiceProcess, *args: str | Path, signal_at: str = "",
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BULKPIN_PROFILE"}
    if signal_at:
        env["BULKPIN_SIGNAL_AT"] = signal_at
    # The timeout is a guard against a run that never stops, not a measurement.
    return subprocess.run(push_command(service, *args), capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["walk:2", "hashing:1", "sending:1", "polling:1"])
def test_stop_in_each_phase_then_resume(
    service: ServiceProcess, tmp_path: Path, phase: str, sig: str
) -> None:
    n = _tree(tmp_path / "t")
    journal = tmp_path / "j.sqlite"
    args = (tmp_path / "t", "--journal", journal, "--concurrency", "2")
    stopped = _run(service, *args, signal_at=f"{phase}:{sig}")
    assert stopped.returncode == 3, stopped.stderr[-3000:]
    assert "Traceback" not in stopped.stderr
    assert "Run the same command again to resume" in stopped.stderr
    resumed = _run(service, *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert service.stats()["duplicate_jobs"] == 0
    assert len(all_pins(service)) == n


def test_after_a_stop_no_new_file_starts(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(6):
        (tree / f"big-{i}").write_bytes(os.urandom(2 * MiB + i))
    # One upload at a time; the stop comes as the first one starts sending.
    proc = _run(service, tree, "--journal", tmp_path / "j", "--concurrency", "1",
                signal_at="sending:1:SIGTERM")
    assert proc.returncode == 3, proc.stderr[-3000:]
    requests = service.stats()["requests"].get("pinFile", {})
    assert sum(requests.values()) == 1  # the one in flight finished; none started after


def test_a_second_signal_stops_at_once(service: ServiceProcess, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    journal = tmp_path / "j.sqlite"
    args = (tmp_path / "t", "--journal", journal, "--concurrency", "2", "--bwlimit", "1M/s")
    proc = _run(service, *args, signal_at="sending:1:SIGINT,sending:2:SIGINT")
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "stopped at once" in proc.stderr
    resumed = _run(service, *args[:-2])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert service.stats()["duplicate_jobs"] == 0


def test_grace_abandons_uploads_that_do_not_finish(
    service_factory: object, tmp_path: Path
) -> None:
    # The service answers pinFile 2 s late (the upload is stored, its answer held
    # back): with --grace 0.5 the stopped run abandons the upload unanswered, and
    # the next run must find the job instead of uploading again.
    assert callable(service_factory)
    slow: ServiceProcess = service_factory("--faults", "pinFile:slow=1")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(os.urandom(64 * KiB))
    journal = tmp_path / "j"
    proc = _run(slow, tree, "--journal", journal, "--grace", "0.5",
                signal_at="sending:1:SIGTERM")
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "abandoned" in proc.stderr
    resumed = _run(slow, tree, "--journal", journal)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert slow.stats()["duplicate_jobs"] == 0
    # The abandoned upload's job was found, not made again.
    assert sum(slow.stats()["jobs"].values()) == 1


@pytest.mark.anyio
async def test_a_large_upload_that_cannot_finish_in_the_grace_is_abandoned_at_once(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """Stopped while a large file crawls at --bwlimit: it cannot finish within the grace at
    its pace, so it is abandoned at once, and the summary says the bytes that did go.

    Before, it kept sending for the whole grace and was then abandoned anyway, and
    the summary said "bytes sent 0 B" (the rewind of the abandoned attempt).
    """
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "big").write_bytes(os.urandom(24 * MiB))
    stop = anyio.Event()
    notices: list[str] = []

    def on_event(event: PushEvent) -> None:
        if isinstance(event, NoticeEvent):
            notices.append(event.message)
        elif isinstance(event, ProgressEvent) and event.snapshot.bytes_sent >= 2 * MiB:
            stop.set()  # the operator's Ctrl-C, with the upload under way

    # At 1 MiB/s the 22 MiB left take ~22 s; the grace is 8.
    options = PushOptions(journal=tmp_path / "j.sqlite", bwlimit=1 * MiB, grace=8.0,
                          poll_interval=0.05)
    credentials = load_credentials(profile=service.profile_path, env={})
    async with DecooClient(credentials) as client:
        summary = await push([str(tree)], options, client=client, on_event=on_event, stop=stop)
    assert summary.exit_status == 3
    assert any("cannot finish within --grace 8 s at their pace" in n for n in notices), notices
    assert not any("still in flight after --grace" in n for n in notices), notices
    assert summary.snapshot.bytes_sent >= 2 * MiB
    assert all_pins(service) == []
