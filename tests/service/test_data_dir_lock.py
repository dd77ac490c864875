"""One service per data dir (issue 25, item 4): a second ``bulkpin serve`` is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.service import ServiceProcess


def test_a_second_serve_on_a_data_dir_is_refused(service: ServiceProcess) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(service.data_dir)],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )
    assert second.returncode == 2, (second.stdout, second.stderr)
    lines = second.stderr.strip().splitlines()
    assert lines == [
        f"bulkpin serve: data dir {service.data_dir} is in use by another bulkpin serve"
        f" (pid {service.pid}); stop it first, or give another --data-dir"
    ]
    assert "ready" not in second.stdout
    # The first one serves on, and adding an account beside it still works.
    assert service.stats()["accounts"] >= 1
    assert service.new_account("second").exists()


def test_the_data_dir_is_free_again_after_a_kill(tmp_path: Path) -> None:
    data_dir = tmp_path / "svc"
    first = ServiceProcess(data_dir).start()
    first.kill()  # no clean stop: the kernel drops the lock all the same
    with ServiceProcess(data_dir).start() as second:
        assert second.stats()["accounts"] >= 1
