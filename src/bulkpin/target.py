"""Where a command sends its requests: a Decoo account, or the embedded local service.

A Decoo account is configured by ``--profile``, ``--zone`` (with the API key and
private key in the environment), the ``BULKPIN_*`` environment variables or
the default profile file. With none of those, commands that talk to a service
start the embedded one (:mod:`bulkpin.embedded`) and say so in one line:
every time for a command that uploads (the user must know where the files
went), once per user state directory for the others (``ls``, ``jobs``,
``check``, ``status``: by then it is known, and repeated it is noise), and
never when the command is quiet.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

from .client import Credentials, load_credentials
from .client.credentials import (
    ENV_API_KEY,
    ENV_CLOUD_URL,
    ENV_PRIVATE_KEY,
    default_profile_path,
)

#: How credentials of the embedded service say where they came from; the
#: destination (:mod:`bulkpin.destination`) recognises them by it.
EMBEDDED_SOURCE = "the embedded local service"

log = logging.getLogger(__name__)


def notice_marker() -> Path:
    """The file whose presence says a read-only command has told the embedded-service notice."""
    return Path(platformdirs.user_state_dir("bulkpin")) / "embedded-notice-told"


def _tell_once(notice: Callable[[str], None], message: str) -> None:
    marker = notice_marker()
    if marker.exists():
        log.info("%s", message)  # still there with -v
        return
    notice(message)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(message + "\n")
    except OSError as exc:  # a read-only state dir: told again next time, no harm
        log.info("cannot record that the notice was told (%s): %s", marker, exc)


def account_configured(profile: str | None, zone: str | None) -> bool:
    """Whether the user named a Decoo account in any of the supported ways."""
    if profile or zone:
        return True
    if any(os.environ.get(name) for name in (ENV_CLOUD_URL, ENV_API_KEY, ENV_PRIVATE_KEY)):
        return True
    return default_profile_path().exists()


@contextmanager
def open_target(
    profile: str | None,
    zone: str | None,
    endpoint: str | None,
    notice: Callable[[str], None] | None,
    *,
    uploads: bool = False,
) -> Iterator[Credentials]:
    """Credentials for the configured account, or for the embedded service while it runs.

    ``notice`` is told which service that is (None: a quiet command, told
    nothing); every time when the command ``uploads``, else once (see above).
    """
    if account_configured(profile, zone):
        yield load_credentials(profile=profile, zone=zone, endpoint=endpoint)
        return
    # Imported only when used: it loads the whole local service, which a command
    # talking to a Decoo account should not pay for at startup.
    from .embedded import EmbeddedService  # noqa: PLC0415

    with EmbeddedService() as service:
        message = (
            f"No Decoo account configured: using the local Decoo-compatible service at "
            f"{service.cloud_url} (data in {service.data_dir}; see README to use Decoo)."
        )
        if notice is not None:
            if uploads:
                notice(message)
            else:
                _tell_once(notice, message)
        assert service.profile_path is not None
        credentials = load_credentials(profile=str(service.profile_path), endpoint=endpoint)
        yield dataclasses.replace(credentials, source=EMBEDDED_SOURCE)
