"""The embedded default: a local Decoo-compatible service for users with no account.

When no profile, environment variable or argument names a Decoo account,
``push``, ``ls`` and ``jobs`` start ``bulkpin serve`` on loopback with its data in
the user data directory (the same one ``bulkpin serve`` uses by default), use
the profile it writes, and stop it when they are done. Its pins and jobs
persist there between runs. The process itself is run by
:class:`~bulkpin.service.process.ServeProcess`.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Self

from ._startstop import StartStop
from .client import ConfigurationError
from .service.config import default_data_dir
from .service.process import ServeProcess, ServeProcessError

__all__ = ["EmbeddedService", "EmbeddedServiceError"]


#: How long a push waits for another run's local service to leave the data dir
#: (one that is stopping, or one a killed push left that is about to notice).
LOCK_WAIT = 30.0


class EmbeddedServiceError(ConfigurationError):
    """The local service could not be started (a usage error: exit 2, nothing sent)."""


def _private_dir(path: Path, *, tighten: bool) -> None:
    """Create ``path`` 0700 (the service's data dir holds every account's private key).

    With ``tighten``, an existing one is made 0700 too: the default directory
    is bulkpin's own, and versions before this one created it 0755.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    if tighten and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


class EmbeddedService(StartStop):
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
        self._process: ServeProcess | None = None

    def start(self) -> Self:
        """Start the service and wait until it serves."""
        _private_dir(self.data_dir, tighten=self._own_dir)
        log_path = self.data_dir / "embedded.log"
        # One service per data dir: a run finding another run's service there
        # waits for it to go rather than share it (it would stop when its own
        # run ends, under this one), then says which process holds it.
        process = ServeProcess(self.data_dir, "--wait-for-data-dir", f"{LOCK_WAIT:g}",
                               *self.extra_args, log_path=log_path)
        try:
            process.start(self.timeout)
        except ServeProcessError:
            said = _last_line(process.stderr_text())
            if "in use by another bulkpin serve" in said:
                raise EmbeddedServiceError(
                    f"the local service: {said.removeprefix('bulkpin serve: ')}"
                    " (another push or pin using it must end first)"
                ) from None
            raise EmbeddedServiceError(f"the local service did not start; see {log_path}") from None
        self._process = process
        announced = process.announcement
        self.cloud_url = announced.cloud_url
        self.endpoint_urls = announced.endpoint_urls
        self.profile_path = announced.profile_path
        if self.profile_path is None or not self.cloud_url:
            self.stop()
            raise EmbeddedServiceError(f"the local service did not start; see {log_path}")
        return self

    def stop(self) -> None:
        """Stop the service (SIGTERM, then SIGKILL if it does not go within 15 s)."""
        process, self._process = self._process, None
        if process is not None:
            process.stop(15, check=False)
