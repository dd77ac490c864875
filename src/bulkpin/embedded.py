"""The embedded default: a local Decoo-compatible service for users with no account.

When no profile, environment variable or argument names a Decoo account,
``push``, ``ls`` and ``jobs`` start ``bulkpin serve`` on loopback with its data in
the user data directory (the same one ``bulkpin serve`` uses by default), use
the profile it writes, and stop it when they are done. Its pins and jobs
persist there between runs. It runs as a child process so that on a machine
with several cores, hashing in the service does not compete with the client
for one interpreter lock.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import platformdirs

_PREFIX = "bulkpin serve: "
READY = _PREFIX + "ready"


@dataclass
class ServeAnnouncement:
    """What ``bulkpin serve`` prints on stdout before it serves: read line by line."""

    cloud_url: str = ""
    endpoint_urls: list[str] = field(default_factory=list)
    profile_path: Path | None = None

    def read(self, line: str) -> bool:
        """Take one line of stdout; True once it is the ready line."""
        line = line.strip()
        if not line.startswith(_PREFIX):
            return False
        key, _, value = line[len(_PREFIX) :].partition(" ")
        if key == "cloud":
            self.cloud_url = value
        elif key == "endpoint":
            self.endpoint_urls.append(value)
        elif key == "profile":
            self.profile_path = Path(value)
        return line == READY


class EmbeddedServiceError(RuntimeError):
    """The local service could not be started."""


def default_data_dir() -> Path:
    """Where the embedded service keeps its data."""
    return Path(platformdirs.user_data_dir("bulkpin")) / "service"


def _private_dir(path: Path, *, tighten: bool) -> None:
    """Create ``path`` 0700 (the service's data dir holds every account's private key).

    With ``tighten``, an existing one is made 0700 too: the default directory
    is bulkpin's own, and versions before this one created it 0755.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    if tighten and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


class EmbeddedService:
    """``with EmbeddedService() as svc:`` runs the local service for the block's duration."""

    def __init__(
        self, data_dir: Path | None = None, *extra_args: str, timeout: float = 60.0
    ) -> None:
        self.data_dir = data_dir or default_data_dir()
        self._own_dir = data_dir is None
        self.extra_args = extra_args
        self.timeout = timeout
        self.cloud_url = ""
        self.endpoint_urls: list[str] = []
        self.profile_path: Path | None = None
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> EmbeddedService:
        """Start the service and wait until it serves."""
        _private_dir(self.data_dir, tighten=self._own_dir)
        log_path = self.data_dir / "embedded.log"
        # The service's stderr: private like everything else in its data dir.
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "a") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(self.data_dir),
                 "--cloud-port", "0", "--endpoint-ports", "0", *self.extra_args],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                start_new_session=True,  # a Ctrl-C for the push is not the service's
            )
        assert self._proc.stdout is not None
        timer = threading.Timer(self.timeout, self._proc.kill)
        timer.start()
        announced = ServeAnnouncement()
        try:
            for raw in self._proc.stdout:
                if announced.read(raw):
                    break
        finally:
            timer.cancel()
        self.cloud_url = announced.cloud_url
        self.endpoint_urls = announced.endpoint_urls
        self.profile_path = announced.profile_path
        if self.profile_path is None or not self.cloud_url or self._proc.poll() is not None:
            self.stop()
            raise EmbeddedServiceError(
                f"the local service did not start; see {log_path}"
            )
        # Keep reading stdout so the service never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        if self._proc is not None and self._proc.stdout is not None:
            for _ in self._proc.stdout:
                pass

    def stop(self) -> None:
        """Stop the service (SIGTERM, then SIGKILL if it does not go)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> EmbeddedService:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
