"""What every run checks of its destination before it opens a journal or walks anything.

A mistake found here costs nothing: no journal is made, no file is read, no
request but a few small ones is sent. Today that is the upload Endpoint: a name
the Cloud does not list, or a named Endpoint that does not answer, is a
configuration error (exit 2), unless failover was allowed, when the run says
which Endpoint it uses instead (:meth:`bulkpin.client.DecooClient.check_endpoint`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..client import DecooClient

__all__ = ["check_destination"]


async def check_destination(client: DecooClient | None, dry_run: bool,
                            warn: Callable[[str], None]) -> None:
    """Raise :class:`~bulkpin.client.ConfigurationError` for a destination that cannot work.

    A dry run sends nothing to an Endpoint, so it asks none.
    """
    if client is None or dry_run:
        return
    moved = await client.check_endpoint()
    if moved is not None:
        warn(moved)
