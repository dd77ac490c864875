"""One service per data dir: an exclusive lock held while a service runs on it.

Two services on one data dir would each run the job worker over the same
jobs and each rewrite the profiles with their own ports, so the second is
refused. The lock is ``flock`` on ``DIR/serve.lock``: the kernel drops it
when its holder ends, however it ends (``kill -9`` included), so a crashed
service never leaves a stale lock behind. The file holds the holder's pid,
for the message that names it. ``serve --init-only`` does not take it:
adding an account beside a running service is allowed (SQLite's WAL makes
that safe).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["LOCK_FILE", "DataDirInUseError", "DataDirLock"]

log = logging.getLogger("bulkpin.service")

LOCK_FILE = "serve.lock"
#: How often a waiting service tries the lock again.
_RETRY_SECONDS = 0.1


class DataDirInUseError(RuntimeError):
    """Another running service holds the data dir."""


class DataDirLock:
    """The lock of ``data_dir``; :meth:`acquire` takes it, :meth:`release` gives it back."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def holder(self) -> int | None:
        """The pid the lock file names (the last holder's, if none holds it now)."""
        with contextlib.suppress(OSError, ValueError):
            return int(self.path.read_text().strip() or "x")
        return None

    def acquire(self, wait: float = 0.0, *, clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> None:
        """Take the lock, trying for up to ``wait`` seconds; :class:`DataDirInUseError` if held."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = clock() + wait
        said = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if clock() >= deadline:
                        raise self._in_use() from None
                    if not said:  # once: the log says why the start is slow
                        said = True
                        log.warning("%s; waiting up to %g s for it to end",
                                    self._in_use(), wait)
                    sleep(_RETRY_SECONDS)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _in_use(self) -> DataDirInUseError:
        pid = self.holder()
        by = f" (pid {pid})" if pid is not None else ""
        return DataDirInUseError(
            f"data dir {self.path.parent} is in use by another bulkpin serve{by};"
            " stop it first, or give another --data-dir"
        )

    def release(self) -> None:
        """Give the lock back (closing the file drops it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
