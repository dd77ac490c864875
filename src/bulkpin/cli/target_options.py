"""The options that say which account a command talks to, shared by push, status, ls, jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import click

from ..client import ZONES

__all__ = ["Target", "failover_option", "target_options"]

F = TypeVar("F", bound=Callable[..., Any])


class Target(NamedTuple):
    """Which account and Endpoint a moving command talks to, as its flags say."""

    profile: str | None
    zone: str | None
    endpoint: str | None
    #: ``--failover``: True to let uploads leave a named Endpoint; None: only
    #: when none is named (the client's default).
    failover: bool | None = None


def failover_option(func: F) -> F:
    """``--failover``, for the commands that send to an Endpoint (push, pin)."""
    return click.option(
        "--failover", is_flag=True, default=None,
        help="Let uploads move to another listed Endpoint when the one named by --endpoint"
             " (or the profile) does not answer [default: a named Endpoint is used or the"
             " run stops with exit 2; without one, the quickest is used, with failover].",
    )(func)


def target_options(func: F) -> F:
    """``--profile``, ``--zone`` and ``--endpoint``."""
    decorators = [
        click.option("--profile", "profile", default=None, envvar="BULKPIN_PROFILE",
                     help="Profile: a TOML file (cloud_url, api_key, private_key[, endpoint]),"
                          " or NAME for <config dir>/bulkpin/profiles/NAME.toml"
                          " [env: BULKPIN_PROFILE]."),
        click.option("--zone", type=click.Choice(sorted(ZONES)), default=None,
                     help="Decoo's Cloud for this zone; API key and private key from the "
                          "environment (BULKPIN_API_KEY, BULKPIN_PRIVATE_KEY)."),
        click.option("--endpoint", default=None,
                     help="Upload Endpoint, by name or URL [default: the fastest listed]."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func
