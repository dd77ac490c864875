"""What every request handler shares: settings, database, blobs, auth, limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aiohttp import web

from .auth import Account, Authenticator
from .blobs import BlobStore
from .body_rate import PacedBody
from .config import ServiceConfig
from .connections import ConnectionCounts
from .dag import DagCache
from .db import AsyncDatabase
from .errors import RateLimited
from .faults import FaultInjector
from .gateway_faults import GatewayFaults
from .ratelimit import RateLimiter
from .stage_budget import StageBudget
from .stats import RequestStats


@dataclass
class ServiceState:
    """One per running service, shared by the Cloud and every Endpoint."""

    config: ServiceConfig
    db: AsyncDatabase
    blobs: BlobStore
    auth: Authenticator
    faults: FaultInjector
    stats: RequestStats
    #: Threads that hash and write uploads, so the event loop keeps reading.
    hashers: ThreadPoolExecutor
    #: Threads that write and commit blobs: they mostly wait on the disk, and
    #: apart from the hashers no upload's hashing queues behind another's write.
    writers: ThreadPoolExecutor
    #: Extra stages large uploads may take (``config.upload_memory``'s worth).
    stage_budget: StageBudget
    limiter: RateLimiter | None = None
    #: ``--gateway-faults``, with ``--fault-seed``.
    gateway_faults: GatewayFaults = field(default_factory=GatewayFaults)
    #: DAGs the gateway rebuilt from stored files, kept for the next request.
    dags: DagCache = field(default_factory=DagCache)
    clock: Callable[[], float] = time.time
    cloud_url: str = ""
    endpoint_urls: list[str] = field(default_factory=list)
    #: Each listener's connection counts, by name ("cloud", "endpoint0"...).
    connections: dict[str, ConnectionCounts] = field(default_factory=dict)
    #: Set when there is new work for the job worker.
    jobs_changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when a job wants content the store may lack (for the gateway fetcher).
    content_wanted: asyncio.Event = field(default_factory=asyncio.Event)

    def now_ms(self) -> int:
        """Wall-clock time in whole milliseconds, the database's unit."""
        return int(self.clock() * 1000)

    @property
    def step_ms(self) -> int:
        """How long each job step (queued, pinning) lasts: half of ``job_delay``."""
        return int(self.config.job_delay * 500)

    def search_deadline_ms(self, now_ms: int) -> int | None:
        """When a new pinByHash job created at ``now_ms`` gives up looking for content.

        With ``--gateway`` the clock starts when the fetcher first asks a gateway
        (None until then, :func:`~.fetcher.search_started`): it fetches
        :data:`~.fetcher.FETCHES` CIDs at a time, so in a burst of thousands of
        jobs most wait their turn, and a deadline counted from creation failed
        them without a gateway ever being asked. Without gateways content can
        only arrive by upload, and the clock starts now.
        """
        if self.config.gateways:
            return None
        return now_ms + int(self.config.fetch_timeout * 1000)

    def paced_body(self, request: web.Request) -> PacedBody:
        """The request's body, read under ``--idle-timeout`` and ``--min-body-rate``."""
        config = self.config
        return PacedBody(
            request.content, idle=config.idle_timeout, min_rate=config.min_body_rate,
            window=config.body_rate_window,
        )

    def check_rate(self, account: Account) -> None:
        """Raise 429 if ``account`` is over ``--rate-limit``."""
        if self.limiter is None:
            return
        wait = self.limiter.acquire(account.id)
        if wait > 0:
            raise RateLimited("rate limit exceeded", RateLimiter.retry_after(wait))

    async def cloud_caller(self, request: web.Request) -> Account:
        """Authenticate (API key) and rate-limit a Cloud request."""
        account = await self.auth.cloud_account(request)
        self.check_rate(account)
        return account

    async def endpoint_caller(self, request: web.Request) -> Account:
        """Authenticate (access token) and rate-limit an Endpoint request."""
        account = await self.auth.endpoint_account(request)
        self.check_rate(account)
        return account


STATE = web.AppKey("state", ServiceState)
