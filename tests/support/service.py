"""``bulkpin serve`` as a real subprocess, for tests that need a Decoo to talk to.

The contract other tests rely on: :class:`ServiceProcess` starts
``python -m bulkpin serve`` on a data dir with free ports, parses the lines it
prints when ready, and stops it with SIGTERM (asserting a clean exit).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bulkpin.embedded import READY, ServeAnnouncement


class ServiceError(RuntimeError):
    """The service did not start, or did not stop cleanly."""


class ServiceProcess:
    """One ``bulkpin serve`` process on ``data_dir``; ``args`` are extra CLI options.

    ``umask``: the one the process starts with (default: this process's).
    """

    def __init__(
        self, data_dir: Path, *args: str, env: dict[str, str] | None = None,
        umask: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.args: tuple[str, ...] = tuple(args)
        self.env = env
        self.umask = umask
        self.cloud_url = ""
        self.endpoint_urls: list[str] = []
        self.profile_path = self.data_dir / "profile.toml"
        self.process: subprocess.Popen[str] | None = None
        self.stderr_path: Path | None = None
        self._starts = 0

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None, "not started"
        return self.process.pid

    def command(self, *args: str) -> list[str]:
        """The command line ``start`` runs."""
        extra = list(args)
        if "--cloud-port" not in extra:
            extra = ["--cloud-port", "0", *extra]
        if "--endpoint-ports" not in extra:
            extra = ["--endpoint-ports", "0", *extra]
        return [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(self.data_dir), *extra]

    def _environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env or {})
        return env

    def start(self, timeout: float = 30) -> ServiceProcess:
        """Start and wait for ``bulkpin serve: ready``; returns self."""
        if self.process is not None and self.process.poll() is None:
            raise ServiceError("already running")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._starts += 1
        name = f"{self.data_dir.name}.serve-{self._starts}.stderr"
        self.stderr_path = self.data_dir.parent / name
        stderr = self.stderr_path.open("w")
        try:
            self.process = subprocess.Popen(
                self.command(*self.args), stdout=subprocess.PIPE, stderr=stderr, text=True,
                env=self._environ(), start_new_session=True,
                umask=-1 if self.umask is None else self.umask,
            )
        finally:
            stderr.close()
        lines: list[str] = []
        done = threading.Event()
        assert self.process.stdout is not None
        stdout = self.process.stdout

        def read() -> None:
            for line in stdout:
                if not done.is_set():
                    lines.append(line.rstrip("\n"))
                    if line.strip() == READY:
                        done.set()
            done.set()  # EOF: the process ended

        threading.Thread(target=read, daemon=True).start()
        if not done.wait(timeout) or not lines or lines[-1] != READY:
            self.kill()
            raise ServiceError(
                f"bulkpin serve did not become ready; stdout={lines!r}; "
                f"stderr={self.stderr_text()[-2000:]!r}"
            )
        announced = ServeAnnouncement()
        for line in lines:
            announced.read(line)
        self.cloud_url = announced.cloud_url
        self.endpoint_urls = announced.endpoint_urls
        self.profile_path = announced.profile_path or self.profile_path
        return self

    def stderr_text(self) -> str:
        """What the current (or last) process wrote to stderr."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""

    def stop(self) -> None:
        """SIGTERM, wait, and assert a clean exit (status 0)."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServiceError("bulkpin serve did not stop within 30 s of SIGTERM") from None
        self.process = None
        if status != 0:
            raise ServiceError(
                f"bulkpin serve exited with {status}; stderr={self.stderr_text()[-2000:]!r}"
            )

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        self.process = None

    def restart(self, *args: str) -> None:
        """Stop (cleanly) and start again on the same data dir; new ``args`` replace the old."""
        self.stop()
        if args:
            self.args = tuple(args)
        self.start()

    def stats(self) -> dict[str, Any]:
        """``GET /_admin/stats`` from the Cloud."""
        with urllib.request.urlopen(self.cloud_url + "/_admin/stats", timeout=30) as response:
            data = json.load(response)
        assert isinstance(data, dict)
        return data

    def new_account(self, name: str) -> Path:
        """Add account ``name`` to the data dir (works while running); its profile's path."""
        result = subprocess.run(
            [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(self.data_dir),
             "--init-only", "--new-account", name],
            capture_output=True, text=True, env=self._environ(), timeout=60, check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"serve --new-account {name} failed: {result.stderr}")
        announced = ServeAnnouncement()
        for line in result.stdout.splitlines():
            announced.read(line)
        if announced.profile_path is not None:
            return announced.profile_path
        raise ServiceError(f"serve --new-account {name} printed no profile: {result.stdout!r}")

    def __enter__(self) -> Self:
        if self.process is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        except Exception:
            self.kill()
            if exc_type is None:
                raise


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.02) -> Any:
    """Poll ``predicate()`` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)
