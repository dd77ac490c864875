"""What a source that lists a service over HTTP holds: kubo's ``pin/ls``, a PSA's ``/pins``.

Both are read the same way: a base URL, an optional token, the client's retry
policy, and a session that is either the caller's (who closes it) or one each
listing opens and closes, even when the listing is cancelled part-way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar

import aiohttp
import anyio

from ..client.retry import RetryPolicy
from ._transport import new_session
from .items import SourceEntry
from .tokens import SourceToken

__all__ = ["ServiceListing"]


class ServiceListing(ABC):
    """A service's pins, listed over HTTP each time the source is iterated."""

    #: The ``--from`` scheme, which names the source in messages (``kubo``, ``psa``).
    scheme: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        token: SourceToken | None,
        *,
        retry: RetryPolicy | None,
        session: aiohttp.ClientSession | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._retry = retry or RetryPolicy()
        self._session = session
        self._timeouts = (connect_timeout, read_timeout)

    @property
    def label(self) -> str:
        """``<scheme>:<base URL>``."""
        return f"{self.scheme}:{self.base_url}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def __aiter__(self) -> AsyncGenerator[SourceEntry, None]:
        return self._entries()

    @abstractmethod
    def _entries(self) -> AsyncGenerator[SourceEntry, None]:
        """One listing, entry by entry."""

    @asynccontextmanager
    async def _listing_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        """The session one listing goes through: the caller's, or its own for the listing."""
        if self._session is not None:
            yield self._session
            return
        session = new_session(*self._timeouts)
        try:
            yield session
        finally:
            # Shielded: a listing cancelled part-way still closes its connections.
            with anyio.CancelScope(shield=True):
                await session.close()
