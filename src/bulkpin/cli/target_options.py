"""The options that say which account a command talks to, shared by push, status, ls, jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..client import ZONES

F = TypeVar("F", bound=Callable[..., Any])


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
