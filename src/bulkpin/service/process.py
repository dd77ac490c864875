"""``bulkpin serve`` as a child process: start it, read its ready lines, stop it.

The one launcher of the service, used by the embedded default
(:mod:`bulkpin.embedded`), the tests and the benchmarks. The service runs as a
child process, in its own session (a Ctrl-C meant for the parent is not the
service's), so that on a machine with several cores its hashing does not
compete with the parent's for one interpreter lock. Its stdin is a pipe from
the parent (``serve --stop-with-stdin``): when the parent ends, even by
``kill -9``, the service sees the pipe close and stops, instead of living on
under PID 1 holding the data dir.

``bulkpin serve`` prints ``bulkpin serve: cloud <url>``, one ``endpoint <url>``
line per Endpoint, ``profile <path>``, then ``bulkpin serve: ready``;
:class:`ServeAnnouncement` reads them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = ["READY", "ServeAnnouncement", "ServeProcess", "ServeProcessError"]

_PREFIX = "bulkpin serve: "
#: The last line ``bulkpin serve`` prints before it serves.
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


class ServeProcessError(RuntimeError):
    """The service did not start, or did not stop cleanly."""


class ServeProcess:
    """One ``bulkpin serve`` process on ``data_dir``; ``args`` are extra CLI options.

    Free ports are asked for unless ``args`` name them. ``env`` is added to the
    parent's environment. The service's stderr is appended to ``log_path``, or,
    without one, written to a new file beside ``data_dir`` on each start. With
    ``stop_with_parent`` (the default) the service ends when this process does.
    """

    def __init__(
        self,
        data_dir: Path,
        *args: str,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        umask: int | None = None,
        stop_with_parent: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.stop_with_parent = stop_with_parent
        #: The umask the process starts with (None: this process's).
        self.umask = umask
        self.args: tuple[str, ...] = tuple(args)
        self.env = env
        self.log_path = log_path
        self.cloud_url = ""
        self.endpoint_urls: list[str] = []
        #: The client profile the service wrote (the data dir's, until it says).
        self.profile_path = self.data_dir / "profile.toml"
        #: The ready lines of the current (or last) start.
        self.announcement = ServeAnnouncement()
        self.process: subprocess.Popen[str] | None = None
        #: Where the current (or last) process's stderr goes.
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
        if self.stop_with_parent:
            extra = ["--stop-with-stdin", *extra]
        return [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(self.data_dir), *extra]

    def _environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env or {})
        return env

    def _open_stderr(self) -> IO[str]:
        self._starts += 1
        if self.log_path is not None:
            self.stderr_path = self.log_path
            # Private like everything else in a service's data dir.
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                         0o600)
            return os.fdopen(fd, "a")
        name = f"{self.data_dir.name}.serve-{self._starts}.stderr"
        self.stderr_path = self.data_dir.parent / name
        return self.stderr_path.open("w")

    def start(self, timeout: float = 30) -> Self:
        """Start and wait for ``bulkpin serve: ready``; returns self.

        Raises :class:`ServeProcessError` (the process killed) if it is not ready
        within ``timeout`` seconds or ends first.
        """
        if self.process is not None and self.process.poll() is None:
            raise ServeProcessError("already running")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._open_stderr() as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                # The pipe's write end stays here (not inherited by other
                # children: Python's pipes are close-on-exec), never written.
                self.command(*self.args), stdout=subprocess.PIPE, stderr=stderr,
                stdin=subprocess.PIPE if self.stop_with_parent else subprocess.DEVNULL,
                text=True, env=self._environ(),
                start_new_session=True, umask=-1 if self.umask is None else self.umask,
            )
        lines = self._read_until_ready(timeout)
        if not lines or lines[-1] != READY:
            self.kill()
            raise ServeProcessError(
                f"bulkpin serve did not become ready; stdout={lines!r}; "
                f"stderr={self.stderr_text()[-2000:]!r}"
            )
        self.announcement = ServeAnnouncement()
        for line in lines:
            self.announcement.read(line)
        self.cloud_url = self.announcement.cloud_url
        self.endpoint_urls = self.announcement.endpoint_urls
        self.profile_path = self.announcement.profile_path or self.profile_path
        return self

    def _read_until_ready(self, timeout: float) -> list[str]:
        """The stdout lines up to the ready line (fewer if it ended or timed out)."""
        assert self.process is not None
        assert self.process.stdout is not None
        stdout = self.process.stdout
        lines: list[str] = []
        done = threading.Event()

        def read() -> None:
            # Reads to the end, so the service never blocks on a full pipe.
            for line in stdout:
                if not done.is_set():
                    lines.append(line.rstrip("\n"))
                    if line.strip() == READY:
                        done.set()
            done.set()  # EOF: the process ended

        threading.Thread(target=read, daemon=True).start()
        done.wait(timeout)
        return list(lines)

    def stderr_text(self) -> str:
        """What the current (or last) process wrote to stderr."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""

    def stop(self, timeout: float = 30, *, check: bool = True) -> int | None:
        """SIGTERM and wait; SIGKILL after ``timeout`` seconds. The exit status, if any.

        With ``check``, a service that had to be killed or did not exit with 0
        raises :class:`ServeProcessError`.
        """
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            if check:
                raise ServeProcessError(
                    f"bulkpin serve did not stop within {timeout:g} s of SIGTERM"
                ) from None
            return None
        self._forget(process)
        if check and status != 0:
            raise ServeProcessError(
                f"bulkpin serve exited with {status}; stderr={self.stderr_text()[-2000:]!r}"
            )
        return status

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        self._forget(process)

    def _forget(self, process: subprocess.Popen[str]) -> None:
        """The process has ended: close our end of its stdin pipe."""
        if process.stdin is not None:
            process.stdin.close()
        self.process = None

    def restart(self, *args: str) -> None:
        """Stop (cleanly) and start again on the same data dir; new ``args`` replace the old."""
        self.stop()
        if args:
            self.args = tuple(args)
        self.start()

    def stats(self) -> dict[str, Any]:
        """``GET /_admin/stats`` from the Cloud."""
        with urllib.request.urlopen(self.cloud_url + "/_admin/stats", timeout=30) as response:  # noqa: S310 - our own loopback URL
            data = json.load(response)
        assert isinstance(data, dict)
        return data

    def new_account(self, name: str) -> Path:
        """Add account ``name`` to the data dir (works while running); its profile's path."""
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(self.data_dir),
             "--init-only", "--new-account", name],
            capture_output=True, text=True, env=self._environ(), timeout=60, check=False,
        )
        if result.returncode != 0:
            raise ServeProcessError(f"serve --new-account {name} failed: {result.stderr}")
        announced = ServeAnnouncement()
        for line in result.stdout.splitlines():
            announced.read(line)
        if announced.profile_path is not None:
            return announced.profile_path
        raise ServeProcessError(
            f"serve --new-account {name} printed no profile: {result.stdout!r}"
        )

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
