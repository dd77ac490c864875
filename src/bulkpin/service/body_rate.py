"""Reading a request body that must keep moving: a stall or a trickle is 408.

Two rules, both raising :class:`~.errors.RequestTimeout`:

- **idle**: no byte for ``idle`` seconds (``--idle-timeout``);
- **minimum rate**: fewer than ``min_rate * window`` bytes over each ``window``
  seconds spent waiting (``--min-body-rate``, ``--body-rate-window``). Without
  it a client sending a byte just inside every idle timeout held its
  connection for ever.

Only the time spent waiting for the client counts: while the service itself is
busy (hashing, writing, waiting for stage memory) the client's bytes pile up
in the connection's buffer, and a read that finds them there waits for
nothing. A slow service never makes a client look slow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import StreamReader

from .errors import RequestTimeout


class PacedBody:
    """``await read()`` the next bytes of ``content`` (b"" at its end), within the rules."""

    def __init__(
        self, content: StreamReader, *, idle: float, min_rate: float, window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._content = content
        self._idle = idle
        self._min_rate = min_rate
        self._window = window
        self._clock = clock
        self._need = min_rate * window
        # The current window: seconds waited in it, bytes received in it.
        self._waited = 0.0
        self._got = 0

    async def read(self) -> bytes:
        """The next bytes as they arrive; RequestTimeout if the body stalls or trickles."""
        behind = self._got < self._need
        timeout = min(self._idle, self._window - self._waited) if behind else self._idle
        start = self._clock()
        try:
            async with asyncio.timeout(timeout):
                data = await self._content.readany()
        except TimeoutError:
            if behind and timeout < self._idle:
                raise self._too_slow() from None
            raise RequestTimeout("the request body stopped arriving") from None
        self._waited += self._clock() - start
        self._got += len(data)
        if self._waited >= self._window:
            if self._got < self._need:
                raise self._too_slow()
            self._waited, self._got = 0.0, 0
        return data

    def _too_slow(self) -> RequestTimeout:
        return RequestTimeout(
            f"the request body arrives slower than {self._min_rate:g} bytes/s"
            f" (--min-body-rate)"
        )


__all__ = ["PacedBody"]
