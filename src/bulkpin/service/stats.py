"""Counters for ``GET /_admin/stats``: what tests read to check that nothing
was uploaded twice and that faults happened as seeded.

Request counts and bytes live in memory (since this start); pins and jobs are
counted in the database (all time).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from aiohttp import StreamReader

from .db import DbStats


class RequestStats:
    """Requests by route and status, and body bytes received."""

    def __init__(self) -> None:
        self._requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.bytes_received = 0
        #: Bodies still being read: their bytes so far show as ``bytes_receiving``,
        #: so a rate limit can be measured during a long upload, not after it.
        self.reading: set[StreamReader] = set()

    def record(self, route: str, status: str, body_bytes: int) -> None:
        """Count one finished request; ``status`` is a code or ``reset``/``drop``."""
        self._requests[route][status] += 1
        self.bytes_received += body_bytes

    def snapshot(self, db: DbStats) -> dict[str, Any]:
        """The JSON body of ``/_admin/stats``."""
        return {
            "requests": {
                route: dict(sorted(c.items())) for route, c in sorted(self._requests.items())
            },
            "bytes_received": self.bytes_received,
            "bytes_receiving": sum(body.total_bytes for body in self.reading),
            "accounts": db.accounts,
            "pins": db.pins,
            "jobs": db.jobs,
            "duplicate_jobs": db.duplicate_jobs,
        }
