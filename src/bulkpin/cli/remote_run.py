"""The remote half of ``bulkpin push``: check, run, render (see :mod:`.push_remote`).

Locations, the URL list and the bucket itself (credentials, existence: one
listing request per location) are checked before the Decoo target is even
opened, so a bad bucket name or missing credentials end the command with exit
status 2 before anything is sent. Local PATHs cannot share a run with remote
sources: a run has one journal, keyed by its sources, and local PATHs get root
directory CIDs and a gone-file sweep by path that objects do not; push them
with two commands.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, NoReturn

import anyio
import click

from ..client import DecooClient
from ..push import NoticeEvent, PushOptions, PushSummary
from ..push.remote_listing import RemoteSpec
from ..push.remote_read import RemoteSources
from ..sources.http import HttpSource
from ..sources.objects import push_remote
from ..sources.remote_errors import LocationError, SourceConfigError
from ..sources.s3 import S3Location, S3Options, S3Source
from ..target import open_target
from .push_remote import RemoteArgs
from .run_errors import run_and_exit
from .target_options import Target

__all__ = ["main"]

_S3 = "s3://"

def _usage(message: str) -> NoReturn:
    raise click.UsageError(message)


def _spec(paths: tuple[str, ...], files_from: str | None, remote: RemoteArgs) -> RemoteSpec:
    """The run's :class:`~bulkpin.push.remote_listing.RemoteSpec`, or a usage error."""
    local = [p for p in paths if not p.startswith(_S3)]
    if local:
        _usage(f"{local[0]!r}: local PATHs and s3:// or --urls sources cannot share a run"
               " (one journal per set of sources; root CIDs exist only for local trees);"
               " push them with two commands")
    try:
        locations = tuple(S3Location.parse(p) for p in paths)
    except LocationError as exc:
        _usage(str(exc))
    keys = None
    if files_from is not None:
        if len(locations) != 1 or remote.urls is not None:
            _usage("--files-from with a bucket needs exactly one s3:// location (its lines"
                   " are keys below the prefix) and no --urls")
        keys = _read_keys(files_from)
    if remote.urls is not None and remote.urls != "-":
        try:
            with open(remote.urls, "rb"):
                pass
        except OSError as exc:
            _usage(f"--urls {remote.urls}: {exc.strerror or exc}")
    return RemoteSpec(locations, remote.urls, keys)


def _read_keys(source: str) -> list[str]:
    try:
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")  # noqa: SIM115
        with stream:
            return [line.rstrip("\r\n") for line in stream if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        _usage(f"--files-from {source}: {exc}")


async def _preflight(s3: S3Source, spec: RemoteSpec) -> None:
    """One listing request per location: bad credentials or a missing bucket stop us here."""
    for location in spec.locations:
        listing = s3.list_objects(location, page_size=1)
        assert isinstance(listing, AsyncGenerator)
        try:
            await anext(listing, None)
        except SourceConfigError as exc:
            if "credentials" in str(exc).lower() and "unable to locate" in str(exc).lower():
                raise SourceConfigError(
                    f"{exc}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give"
                    " --s3-profile, or --s3-no-sign-request for a public bucket"
                ) from exc
            raise
        finally:
            await listing.aclose()


async def _run(spec: RemoteSpec, remote: RemoteArgs, options: PushOptions,
               target: Target, shown: _Display,
               read_timeout: float) -> PushSummary | None:
    s3_options = S3Options(
        endpoint_url=remote.s3_endpoint_url, region=remote.s3_region,
        profile=remote.s3_profile, path_style=remote.s3_path_style,
        anonymous=remote.s3_no_sign_request,
        max_pool_connections=max(16, options.pool_size + 4),
    )
    stop = anyio.Event()
    async with S3Source(s3_options) as s3, HttpSource() as http:
        await _preflight(s3, spec)
        renderer = shown.start()
        sources = RemoteSources(s3, http)
        if options.dry_run:
            return await push_remote(spec, options, sources, on_event=renderer, stop=stop)
        profile, zone, endpoint, failover = target
        with open_target(profile, zone, endpoint, lambda m: renderer(NoticeEvent(m)),
                         uploads=True) as creds:
            async with DecooClient(creds, concurrency=options.pool_size,
                                   endpoint=endpoint, failover=failover,
                                   read_timeout=read_timeout) as client:
                return await _with_signals(stop, renderer, lambda: push_remote(
                    spec, options, sources, client=client, on_event=renderer, stop=stop))


async def _with_signals(stop: anyio.Event, renderer: Any,
                        run: Callable[[], Awaitable[PushSummary]]) -> PushSummary | None:
    summary: PushSummary | None = None

    async def signals(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as received:
            async for _ in received:
                if stop.is_set():
                    scope.cancel()
                    return
                stop.set()
                renderer(NoticeEvent("Stopping: no new objects start; uploads in flight"
                                     " finish. Press Ctrl-C again to stop at once."))

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(signals, scope)
            summary = await run()
            tg.cancel_scope.cancel()
    return summary


def main(paths: tuple[str, ...], files_from: str | None, remote: RemoteArgs,
               options: PushOptions, target: Target,
               make_renderer: Callable[[], Any], read_timeout: float) -> NoReturn:
    """Run a remote push to its end and exit with its status (2 before anything is sent)."""
    spec = _spec(paths, files_from, remote)
    shown = _Display(make_renderer)
    run_and_exit(lambda: anyio.run(_run, spec, remote, options, target, shown, read_timeout),
                 shown)


class _Display:
    """The renderer, made when the run starts (after the checks), stopped on an error."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._renderer: Any = None

    def start(self) -> Any:
        if self._renderer is None:
            self._renderer = self._make()
        return self._renderer

    def stop(self) -> None:
        getattr(self._renderer, "stop", lambda: None)()

    def summary(self, summary: PushSummary) -> None:
        self.start().summary(summary)
