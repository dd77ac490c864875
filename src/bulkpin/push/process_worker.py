"""One worker process of ``push --processes N``: its share of the walk, pushed as ``--shard I/N``.

The parent (:mod:`.processes`) starts it with the ``spawn`` method (the parent
may hold threads and an open event loop, which a fork would copy half-made)
and two pipes: events go up (snapshots, notices, the files the parent's
display shows, then one last message: the summary or why there is none),
orders come down (``stop``: no new file starts, as a first Ctrl-C; ``now``:
cancel at once, as a second). A pipe that closes means the parent is gone: the
worker stops as it would for ``stop``, so its journal is committed and resumable.

The worker ignores SIGINT, SIGHUP and SIGTERM: a Ctrl-C reaches the whole
foreground process group (a service manager's SIGTERM may reach the whole
group too), and only the parent decides what it means (the two-signal rule of
:mod:`bulkpin.cli.stopping`), so a stop is asked once, of every worker. Kill
one alone with SIGKILL: its journal is resumable.
"""

from __future__ import annotations

import contextlib
import signal
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Literal

import anyio
import anyio.to_thread

from ..client import ConfigurationError, Credentials, DecooClient
from ..client.redact import Secret
from ..core.errors import ExitStatus, JournalError, RunAborted
from ..core.events import FileEvent, FileOutcome, PushEvent
from .options import PushOptions
from .run import push
from .summary import PushSummary

__all__ = ["WorkerFailed", "WorkerSpec", "WorkerTarget", "worker_main"]

#: File events are sent up in batches of at most this many (one pickle, one write).
_BATCH = 256
#: Seconds between looks at the order pipe: the longest a stop waits to be seen.
_ORDERS_POLL = 0.1


@dataclass(frozen=True, slots=True)
class WorkerTarget:
    """The account the parent opened, in a form a pipe can carry (an RSA key object cannot).

    The key crosses a pipe between two processes of one user and nothing else:
    it is never written anywhere.
    """

    cloud_url: str
    api_key: str
    private_key_pem: bytes
    endpoint: str | None
    source: str
    failover: bool | None
    read_timeout: float

    @classmethod
    def of(cls, credentials: Credentials, endpoint: str | None, failover: bool | None,
           read_timeout: float) -> WorkerTarget:
        """What a worker needs to reach the account ``credentials`` reach."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

        pem = credentials.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        return cls(credentials.cloud_url, credentials.api_key.reveal(), pem, endpoint,
                   credentials.source, failover, read_timeout)

    def credentials(self) -> Credentials:
        """The parent's credentials again, on this side of the pipe."""
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

        key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return Credentials(self.cloud_url, Secret(self.api_key), key, self.endpoint,
                           self.source)


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one worker is told: its share (in ``options.selection.shard``) and where to send."""

    index: int
    paths: Sequence[bytes]
    #: Its shard, its journal and its manifest already set (see :mod:`.processes`).
    options: PushOptions
    #: None: a dry run, which sends nothing.
    target: WorkerTarget | None
    file_list: Sequence[bytes] | None
    #: The file outcomes the parent's display shows; every other file event stays here.
    forward: frozenset[FileOutcome]


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    """A worker's run ended with no summary: how it would have ended the command."""

    exit_status: ExitStatus
    message: str


#: What a worker sends up: a batch of events, or its last word.
Message = tuple[Literal["events"], list[PushEvent]] | tuple[Literal["summary"], PushSummary] \
    | tuple[Literal["failed"], WorkerFailed]


def worker_main(spec: WorkerSpec, events: Connection, orders: Connection) -> None:
    """The worker process's body (the target of ``multiprocessing``'s ``Process``)."""
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # inherited already; also when started otherwise
    last: Message
    try:
        last = ("summary", anyio.run(_run, spec, events, orders))
    except BaseException as caught:  # every end is reported to the parent
        exc = caught
        while isinstance(exc, BaseExceptionGroup):
            exc = exc.exceptions[0]
        if isinstance(exc, RunAborted):
            last = ("failed", WorkerFailed(exc.exit_status, str(exc)))
        elif isinstance(exc, JournalError | ConfigurationError | OSError):
            # What the one-process CLI says as "error: ..." with exit 2 (run_errors).
            last = ("failed", WorkerFailed(ExitStatus.USAGE, str(exc)))
        else:  # a bug: its traceback, where the worker's stderr goes
            traceback.print_exception(exc)
            last = ("failed", WorkerFailed(ExitStatus.USAGE, f"{type(exc).__name__}: {exc}"))
    with contextlib.suppress(OSError):  # the parent is gone; the journal says how it ended
        events.send(last)


class _Forward:
    """``on_event``: the events the parent shows, in batches up the pipe."""

    def __init__(self, events: Connection, forward: frozenset[FileOutcome]) -> None:
        self.events = events
        self.forward = forward
        self.batch: list[PushEvent] = []

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            if event.outcome not in self.forward:
                return
            self.batch.append(event)
            if len(self.batch) < _BATCH:
                return
        else:
            self.batch.append(event)
        self.flush()

    def flush(self) -> None:
        if self.batch:
            batch, self.batch = self.batch, []
            with contextlib.suppress(OSError):  # the parent is gone: the watcher stops the run
                self.events.send(("events", batch))


async def _run(spec: WorkerSpec, events: Connection, orders: Connection) -> PushSummary:
    stop = anyio.Event()
    forward = _Forward(events, spec.forward)

    async def watch(scope: anyio.CancelScope) -> None:
        while True:
            try:
                ready = await anyio.to_thread.run_sync(orders.poll, _ORDERS_POLL,
                                                       abandon_on_cancel=True)
                order = orders.recv() if ready else None
            except (EOFError, OSError):
                order = "stop"  # the parent is gone: end as a first Ctrl-C ends a run
            if order == "now":
                scope.cancel()
                return
            if order == "stop":
                stop.set()

    async def pushed(client: DecooClient | None) -> PushSummary | None:
        result: PushSummary | None = None
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch, scope)
                result = await push(spec.paths, spec.options, client=client,
                                    on_event=forward, file_list=spec.file_list, stop=stop)
                tg.cancel_scope.cancel()
        return result

    try:
        if spec.target is None:
            summary = await pushed(None)
        else:
            target = spec.target
            async with DecooClient(target.credentials(), concurrency=spec.options.pool_size,
                                   endpoint=target.endpoint, failover=target.failover,
                                   read_timeout=target.read_timeout) as client:
                summary = await pushed(client)
    finally:
        forward.flush()
    if summary is None:
        raise RunAborted("stopped at once; the journal is committed", ExitStatus.INTERRUPTED)
    return summary
