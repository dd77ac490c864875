"""Where a command sends its requests: a Decoo account, or the embedded local service.

A Decoo account is configured by ``--profile``, ``--zone`` (with the API key and
private key in the environment), the ``BULKPIN_*`` environment variables or
the default profile file. With none of those, commands that talk to a service
start the embedded one (:mod:`bulkpin.embedded`) and say so in one line.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
    notice: Callable[[str], None],
) -> Iterator[Credentials]:
    """Credentials for the configured account, or for the embedded service while it runs."""
    if account_configured(profile, zone):
        yield load_credentials(profile=profile, zone=zone, endpoint=endpoint)
        return
    # Imported only when used: it loads the whole local service, which a command
    # talking to a Decoo account should not pay for at startup.
    from .embedded import EmbeddedService  # noqa: PLC0415

    with EmbeddedService() as service:
        notice(
            f"No Decoo account configured: using the local Decoo-compatible service at "
            f"{service.cloud_url} (data in {service.data_dir}; see README to use Decoo)."
        )
        assert service.profile_path is not None
        credentials = load_credentials(profile=str(service.profile_path), endpoint=endpoint)
        yield dataclasses.replace(credentials, source=EMBEDDED_SOURCE)
