"""Wiring: the Cloud and Endpoint listeners, the job worker, start and stop.

``async with LocalService(config) as svc:`` serves until the block ends;
:func:`run_until_signalled` is what ``bulkpin serve`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import functools
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO

from aiohttp import web

from . import cloud, endpoint, gateway, psa
from .accounts import DEFAULT_ACCOUNT, ensure_account, profile_path, write_account_profile
from .auth import Authenticator
from .blobs import BlobStore
from .config import JSON_BODY_MAX, ServiceConfig
from .connections import (
    ConnectionCounts,
    ConnectionLimits,
    GuardedAppRunner,
    default_max_connections,
)
from .data_dir_lock import DataDirLock
from .db import AsyncDatabase, Database
from .errors import error_middleware
from .faults import FaultInjector
from .fetcher import GatewayFetcher, untimed_searches
from .jobs import JobWorker
from .middleware import fault_middleware, stats_middleware
from .private_files import check_data_dir, make_private_dir, tighten
from .ratelimit import RateLimiter
from .stage_budget import StageBudget
from .state import STATE, ServiceState
from .stats import RequestStats
from .tokens import load_or_create_secret
from .upload import STAGE

log = logging.getLogger("bulkpin.service")

DB_FILE = "bulkpin.sqlite3"
SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name
#: After an early error answer (413...), how long aiohttp keeps reading and
#: discarding the rest of the body, so the client gets to read the answer.
_LINGER_SECONDS = 2.0
#: How long a stop waits for requests in progress.
_SHUTDOWN_SECONDS = 5.0
_HASH_THREADS = max(2, min(8, os.cpu_count() or 2))
#: Blob writes wait on the disk, not the CPU: a few more than the hashers.
_WRITE_THREADS = 2 * _HASH_THREADS


def _app(state: ServiceState, *tables: web.RouteTableDef) -> web.Application:
    app = web.Application(
        middlewares=[stats_middleware, fault_middleware, error_middleware],
        client_max_size=JSON_BODY_MAX,
    )
    app[STATE] = state
    for routes in tables:
        app.add_routes(routes)
    app.on_response_prepare.append(_dated)
    return app


async def _dated(request: web.Request, response: web.StreamResponse) -> None:
    """``Date`` from the service's own clock, the one that dates its pins and jobs.

    aiohttp would write the host's; a client holds pin dates against this header
    to notice a Cloud clock that stepped back, so the two must agree.
    """
    response.headers["Date"] = email.utils.formatdate(request.app[STATE].clock(), usegmt=True)


def open_accounts(
    data_dir: Path, names: Iterable[str] = (), *, allow_shared: bool = False
) -> tuple[AsyncDatabase, bytes]:
    """Open the data dir's database, creating it and the default account if needed.

    Raises :class:`~.private_files.SharedDataDirError` for a data dir others can
    write to, unless ``allow_shared``.
    """
    make_private_dir(data_dir)
    check_data_dir(data_dir, allow_shared=allow_shared)
    tighten(data_dir / SECRET_FILE)
    secret = load_or_create_secret(data_dir / SECRET_FILE)
    db = AsyncDatabase(data_dir / DB_FILE)
    try:
        for name in (DEFAULT_ACCOUNT, *names):
            db.call(ensure_account, name)
    except BaseException:
        db.close()
        raise
    return db, secret


def lock_data_dir(data_dir: Path, *, allow_shared: bool = False, wait: float = 0.0) -> DataDirLock:
    """Make and check the data dir, then take its lock (see :mod:`.data_dir_lock`).

    Checked first, so a data dir refused as shared gets no lock file either.
    """
    make_private_dir(data_dir)
    check_data_dir(data_dir, allow_shared=allow_shared)
    lock = DataDirLock(data_dir)
    lock.acquire(wait)
    return lock


def init_accounts(config: ServiceConfig, names: Iterable[str] = ()) -> list[Path]:
    """``serve --init-only``: create the data dir and accounts, write their profiles.

    The profiles point at the Cloud URL last served from this data dir (a running
    service's, if any), else at the configured host and port.
    """
    names = list(names)
    db, secret = open_accounts(
        config.data_dir, names, allow_shared=config.allow_shared_data_dir
    )
    try:
        cloud_url = db.call(Database.get_meta, "cloud_url") or (
            f"http://{config.url_host}:{config.cloud_port}"
        )
        paths = []
        for name in names or [DEFAULT_ACCOUNT]:
            account = db.call(Database.account_by_name, name)
            assert account is not None
            paths.append(write_account_profile(config.data_dir, secret, account, cloud_url))
        return paths
    finally:
        db.close()


class LocalService:
    """The Decoo-compatible service, running in this process's event loop."""

    def __init__(
        self, config: ServiceConfig, *, new_accounts: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._new_accounts = list(new_accounts)
        self._clock = clock
        self._runners: list[web.AppRunner] = []
        self._worker: asyncio.Task[None] | None = None
        self._fetcher: asyncio.Task[None] | None = None
        self._state: ServiceState | None = None
        self._db: AsyncDatabase | None = None
        self._hashers: ThreadPoolExecutor | None = None
        self._writers: ThreadPoolExecutor | None = None
        self._lock: DataDirLock | None = None

    @property
    def data_dir(self) -> Path:
        """Where state is kept."""
        return self.config.data_dir

    @property
    def cloud_url(self) -> str:
        """The Cloud's base URL, e.g. ``http://127.0.0.1:41234``."""
        assert self._state is not None, "service not started"
        return self._state.cloud_url

    @property
    def endpoint_urls(self) -> list[str]:
        """The Endpoints' base URLs, in ``/endpoint/list`` order."""
        assert self._state is not None, "service not started"
        return list(self._state.endpoint_urls)

    @property
    def profile_path(self) -> Path:
        """The default account's client profile."""
        return profile_path(self.config.data_dir, DEFAULT_ACCOUNT)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Open the data dir, bind every listener, write the profiles, start the worker."""
        config = self.config
        loop = asyncio.get_running_loop()
        self._lock = await loop.run_in_executor(
            None, functools.partial(
                lock_data_dir, config.data_dir, allow_shared=config.allow_shared_data_dir,
                wait=config.lock_wait,
            ),
        )
        try:
            db, secret = await loop.run_in_executor(
                None, functools.partial(
                    open_accounts, config.data_dir, self._new_accounts,
                    allow_shared=config.allow_shared_data_dir,
                ),
            )
        except BaseException:
            await self.stop()
            raise
        self._db = db
        self._hashers = ThreadPoolExecutor(_HASH_THREADS, thread_name_prefix="bulkpin-hash")
        self._writers = ThreadPoolExecutor(_WRITE_THREADS, thread_name_prefix="bulkpin-write")
        try:
            blobs = await loop.run_in_executor(None, BlobStore, config.data_dir / "blobs")
            limiter = (
                RateLimiter(config.rate_limit, time.monotonic) if config.rate_limit else None
            )
            state = ServiceState(
                config=config, db=db, blobs=blobs,
                auth=Authenticator(db, secret, config.token_ttl, self._clock),
                faults=FaultInjector(config.faults, config.fault_seed),
                stats=RequestStats(), hashers=self._hashers, writers=self._writers,
                stage_budget=StageBudget(config.upload_memory // STAGE),
                limiter=limiter, clock=self._clock,
                gateway_faults=dataclasses.replace(config.gateway_faults, seed=config.fault_seed),
            )
            self._state = state
            limits = ConnectionLimits(
                max_connections=config.max_connections
                or default_max_connections(1 + len(config.endpoint_ports)),
                header_timeout=config.header_timeout,
            )
            state.cloud_url, state.connections["cloud"] = await self._listen(
                _app(state, cloud.routes, psa.routes, gateway.routes), config.cloud_port, limits
            )
            for i, port in enumerate(config.endpoint_ports):
                url, state.connections[f"endpoint{i}"] = await self._listen(
                    _app(state, endpoint.routes), port, limits
                )
                state.endpoint_urls.append(url)
            await db.run(Database.set_meta, "cloud_url", state.cloud_url)
            for account in await db.run(Database.accounts):
                await loop.run_in_executor(
                    None, write_account_profile, config.data_dir, secret, account, state.cloud_url
                )
            self._worker = asyncio.create_task(JobWorker(state).run(), name="bulkpin-jobs")
            if not config.gateways:
                deadline_ms = state.now_ms() + int(config.fetch_timeout * 1000)
                await db.run(untimed_searches, deadline_ms)
            else:
                self._fetcher = asyncio.create_task(
                    GatewayFetcher(state, config.gateways).run(), name="bulkpin-fetch"
                )
        except BaseException:
            await self.stop()
            raise

    async def _listen(
        self, app: web.Application, port: int, limits: ConnectionLimits
    ) -> tuple[str, ConnectionCounts]:
        """Serve ``app`` on ``port``: its URL, and its connection counts."""
        runner = GuardedAppRunner(
            app, limits, access_log=None, lingering_time=_LINGER_SECONDS,
            shutdown_timeout=_SHUTDOWN_SECONDS,
            keepalive_timeout=self.config.keepalive_timeout,
        )
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.config.host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        return f"http://{self.config.url_host}:{bound_port}", runner.counts

    async def stop(self) -> None:
        """Stop listening, finish requests in progress (briefly), close the database."""
        for task in (self._fetcher, self._worker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._fetcher = self._worker = None
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        for pool in (self._hashers, self._writers):
            if pool is not None:
                pool.shutdown(wait=True)
        self._hashers = self._writers = None
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:  # last: the data dir is ours until all is closed
            self._lock.release()
            self._lock = None


async def run_until_signalled(
    service: LocalService, out: TextIO, *, stop_with_stdin: bool = False
) -> None:
    """Start ``service``, print its ready lines to ``out``, serve until SIGINT/SIGTERM.

    With ``stop_with_stdin``, also until stdin reaches its end: the parent that
    started the service holds the pipe's other end, and the kernel closes it
    when that process ends, however it ends (``kill -9`` included), so the
    service cannot outlive it. A pipe, not ``PR_SET_PDEATHSIG``: that fires
    when the *thread* that forked the child ends (a worker thread of the
    parent, in a process that starts the service off its main thread), and it
    is Linux-only.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if stop_with_stdin:
        loop.add_reader(0, _watch_stdin, stop)
    try:
        async with service:
            print(f"bulkpin serve: cloud {service.cloud_url}", file=out)
            for url in service.endpoint_urls:
                print(f"bulkpin serve: endpoint {url}", file=out)
            print(f"bulkpin serve: profile {service.profile_path.resolve()}", file=out)
            print("bulkpin serve: ready", file=out, flush=True)
            await stop.wait()
    finally:
        if stop_with_stdin:
            loop.remove_reader(0)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _watch_stdin(stop: asyncio.Event) -> None:
    """Stdin is readable: at its end (or broken), the parent is gone; bytes mean nothing."""
    try:
        ended = not os.read(0, 4096)
    except OSError:
        ended = True
    if ended:
        log.warning("stdin closed: the process that started this service has ended; stopping")
        asyncio.get_running_loop().remove_reader(0)
        stop.set()
