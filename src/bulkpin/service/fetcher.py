"""Fetching the content pin jobs wait for from ``--gateway`` URLs, verified by hashing.

Decoo pins a CID by fetching it from the IPFS network; the local service's
network is the gateways it is given. For each CID a live ``pinByHash`` (or
``/psa``) job wants and the store lacks, the fetcher asks each gateway in turn,
trustless first: ``GET {gateway}/ipfs/{cid}?format=car&dag-scope=all&car-dups=y``,
each block checked against its CID as it arrives (:class:`~bulkpin.car.CarReader`)
and walked depth first from the root, the file bytes of its leaves streamed
through the CID engine into a temporary blob. Blocks the CAR lacks or sends
out of order are asked for as raw blocks (``?format=raw``). A gateway that
serves no CAR or raw block (406, a path-only gateway) is asked for the path
form, ``GET {gateway}/ipfs/{cid}`` (the file's bytes). Either way one stage of
:data:`~.upload.STAGE` bytes per fetch is in memory, whatever the file's size,
and the bytes are kept only if they hash to the CID under the profile the CID
implies (``Qm...`` -> ``unixfs-v0-2015``, else ``unixfs-v1-2025``, or the job's
``cidProfile`` meta): a DAG of another layout cannot be served back as the
same blocks. Then the waiting jobs are woken and pin as if the file had been
uploaded. A gateway that is down, lacks the CID or sends other bytes
is recorded in the jobs' ``detail`` (``PinStatus.info``) and the next one is
tried; the search is retried, backing off, until the jobs' ``--fetch-timeout``
deadline, when the worker fails them as it always has.

Redirects are followed only to the gateway's own origin
(:func:`~bulkpin.verify.same_origin_get`): a gateway must not send the service
to fetch from any other host, internal ones included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import mmap
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp

from ..car import MAX_BLOCK, BlockMismatch, CarError, CarReader
from ..client.errors import DecooError
from ..unixfs import CidProfile, FileBuilder, ProfileError
from ..unixfs.node import block_matches, cid_from_str, cid_to_str, split_block
from ..unixfs.profiles import profile_for_cid
from ..verify import same_origin_get
from .blobs import TempBlob
from .db import Database
from .state import ServiceState
from .upload import STAGE, discard

__all__ = ["FetchRefused", "GatewayFetcher", "parse_gateway", "search_started", "untimed_searches"]

log = logging.getLogger("bulkpin.service")

T = TypeVar("T")

#: CIDs fetched at once: each holds one stage of memory and a connection.
FETCHES = 4
#: How often the fetcher looks for wanted content when nothing wakes it.
_POLL_SECONDS = 1.0
#: Backoff between searches for the same CID, doubling up to the maximum.
_FIRST_RETRY = 0.5
_MAX_RETRY = 30.0
#: Most bytes one read from a gateway's answer returns.
_READ = 1 << 20
#: How long the ``detail`` kept on a job may be.
_MAX_DETAIL = 2000
#: CIDs looked at per pass.
_BATCH = 1000


class FetchRefused(Exception):
    """A gateway's answer that cannot be used (status, size or bytes)."""


class _NotTrustless(Exception):  # a turn to the path form, not a failure
    """The gateway gave no usable CAR or raw block: ask it for the path form instead."""


_CAR_ACCEPT = "application/vnd.ipld.car; version=1; order=dfs; dups=y"
_CAR_TYPE = "application/vnd.ipld.car"
_RAW_TYPE = "application/vnd.ipld.raw"


def parse_gateway(text: str) -> str:
    """A gateway's base URL (``http(s)://host[:port][/prefix]``); ValueError if malformed."""
    url = text.strip().rstrip("/")
    url = url.removesuffix("/ipfs")  # "https://gw/ipfs" and "https://gw" mean the same
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"gateway {text!r}: expected an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError(f"gateway {text!r}: a base URL has no query or fragment")
    return url


@dataclass(frozen=True)
class Wanted:
    """Content some live job waits for."""

    cid: str
    #: ``cidProfile`` from the job's meta, if it names one.
    profile_name: str | None
    #: The latest deadline of the jobs waiting (ms), or None before the
    #: first search (:func:`search_started`).
    deadline_ms: int | None


def wanted_content(db: Database, now_ms: int, limit: int) -> list[Wanted]:
    """CIDs of hash jobs still looking for content (queued, or pinning before the deadline).

    Oldest first: in a burst the fetcher takes them in the order they came, so
    none waits for a slot behind ever newer ones.
    """
    rows = db.connection.execute(
        "SELECT cid, json_extract(meta, '$.cidProfile'), MAX(deadline_ms) FROM jobs "
        "WHERE due_ms IS NOT NULL AND kind = 'hash' AND status IN ('queued', 'pinning') "
        "AND (deadline_ms IS NULL OR deadline_ms > ?) GROUP BY 1, 2 "
        "ORDER BY MIN(created_ms) LIMIT ?",
        (now_ms, limit),
    ).fetchall()
    return [Wanted(cid, name if isinstance(name, str) else None, deadline)
            for cid, name, deadline in rows]


def search_started(db: Database, cid: str, deadline_ms: int) -> None:
    """Start the ``--fetch-timeout`` clock of the live hash jobs for ``cid`` not yet searched for.

    Jobs that already have a deadline keep it: a search retried after a
    failure is the same search, not a new one.
    """
    db.connection.execute(
        "UPDATE jobs SET deadline_ms = ? WHERE kind = 'hash' AND cid = ? "
        "AND deadline_ms IS NULL AND due_ms IS NOT NULL",
        (deadline_ms, cid),
    )


def untimed_searches(db: Database, deadline_ms: int) -> None:
    """Give every live hash job that has no deadline one (started without ``--gateway``).

    Jobs created while the service had gateways wait for the fetcher to start
    their clock; restarted without gateways, nothing would, and they would stay
    pinning forever.
    """
    db.connection.execute(
        "UPDATE jobs SET deadline_ms = ? WHERE kind = 'hash' AND deadline_ms IS NULL "
        "AND due_ms IS NOT NULL",
        (deadline_ms,),
    )


def content_arrived(db: Database, cid: str, now_ms: int) -> None:
    """Wake the hash jobs waiting for ``cid`` (now in the store) and clear their detail."""
    db.connection.execute(
        "UPDATE jobs SET detail = NULL, "
        "due_ms = CASE WHEN status IN ('pinning', 'failed') THEN ? ELSE due_ms END "
        "WHERE kind = 'hash' AND cid = ?",
        (now_ms, cid),
    )


def fetch_failed(db: Database, cid: str, detail: str) -> None:
    """Say why on the live hash jobs waiting for ``cid``."""
    db.connection.execute(
        "UPDATE jobs SET detail = ? WHERE kind = 'hash' AND cid = ? AND due_ms IS NOT NULL",
        (detail, cid),
    )


def _absorb(builder: FileBuilder, temp: TempBlob, view: memoryview) -> None:
    """Hash and write one stage (on a writer thread: both release the GIL)."""
    builder.update(view)
    temp.write(view)


async def _chunks(response: aiohttp.ClientResponse) -> AsyncGenerator[bytes, None]:
    """The answer's body in pieces of at most :data:`_READ` bytes."""
    async for piece in response.content.iter_chunked(_READ):
        yield piece


def _walk(stack: list[bytes], cid: bytes, block: bytes) -> bytes:
    """Visit the checked block atop ``stack``: push its children; its file bytes."""
    try:
        links, data = split_block(cid, block)
    except ValueError as exc:
        raise FetchRefused(f"block {cid_to_str(cid)}: {exc}") from None
    stack.pop()
    stack.extend(reversed(links))
    return data


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FetchRefused):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


class GatewayFetcher:
    """Runs until cancelled, fetching what jobs want from ``gateways`` in order."""

    def __init__(self, state: ServiceState, gateways: tuple[str, ...]) -> None:
        self._state = state
        self._gateways = gateways
        self._inflight: set[tuple[str, str | None]] = set()
        #: Per CID (and profile): (monotonic time of the next try, the delay after it).
        self._retry: dict[tuple[str, str | None], tuple[float, float]] = {}

    async def run(self) -> None:
        """Fetch wanted content forever."""
        state = self._state
        timeout = aiohttp.ClientTimeout(total=None, sock_read=state.config.idle_timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            asyncio.TaskGroup() as tasks,
        ):
            while True:
                state.content_wanted.clear()
                try:
                    wants = await state.db.run(wanted_content, state.now_ms(), _BATCH)
                except Exception:
                    log.exception("gateway fetcher")
                    wants = []
                now = time.monotonic()
                live = {(w.cid, w.profile_name) for w in wants}
                for key in set(self._retry) - live:
                    del self._retry[key]
                for want in wants:
                    key = (want.cid, want.profile_name)
                    if len(self._inflight) >= FETCHES:
                        break
                    if key in self._inflight or self._retry.get(key, (0.0, 0.0))[0] > now:
                        continue
                    self._inflight.add(key)
                    tasks.create_task(self._fetch(session, want), name=f"fetch {want.cid}")
                wait = min([_POLL_SECONDS, *(at - now for at, _ in self._retry.values())])
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, wait)):
                        await state.content_wanted.wait()

    async def _fetch(self, session: aiohttp.ClientSession, want: Wanted) -> None:
        """Try every gateway for one CID; never raises (the task group would stop)."""
        state = self._state
        key = (want.cid, want.profile_name)
        try:
            if want.deadline_ms is None:
                deadline_ms = state.now_ms() + int(state.config.fetch_timeout * 1000)
                await state.db.run(search_started, want.cid, deadline_ms)
                want = dataclasses.replace(want, deadline_ms=deadline_ms)
            try:
                profile = profile_for_cid(want.cid, want.profile_name)
            except ProfileError as exc:
                await state.db.run(fetch_failed, want.cid, f"cidProfile: {exc}")
                self._back_off(key)
                return
            if state.blobs.size(want.cid) is None:
                errors = []
                for gateway in self._gateways:
                    try:
                        await self._from(session, gateway, want, profile)
                        break
                    except (FetchRefused, aiohttp.ClientError, TimeoutError, OSError) as exc:
                        errors.append(f"{gateway}: {_describe(exc)}")
                else:
                    detail = "not fetched from any gateway: " + "; ".join(errors)
                    await state.db.run(fetch_failed, want.cid, detail[:_MAX_DETAIL])
                    self._back_off(key)
                    return
            self._retry.pop(key, None)
            await state.db.run(content_arrived, want.cid, state.now_ms())
            state.jobs_changed.set()
        except Exception:
            log.exception("fetching %s", want.cid)
            self._back_off(key)
        finally:
            self._inflight.discard(key)
            state.content_wanted.set()  # room for another fetch

    def _back_off(self, key: tuple[str, str | None]) -> None:
        delay = self._retry.get(key, (0.0, _FIRST_RETRY / 2))[1] * 2
        delay = min(_MAX_RETRY, delay)
        self._retry[key] = (time.monotonic() + delay, delay)

    async def _get(
        self, session: aiohttp.ClientSession, url: str, accept: str, want: Wanted
    ) -> aiohttp.ClientResponse:
        """``GET url`` within the origin; finding the content is bounded by the jobs' deadline.

        Once it flows, only a stall (the session's sock_read) stops it, as for an upload.
        """
        if want.deadline_ms is None:
            remaining = self._state.config.fetch_timeout
        else:
            remaining = (want.deadline_ms - self._state.now_ms()) / 1000
        try:
            async with asyncio.timeout(max(0.001, remaining)):
                return await same_origin_get(session, url, headers={"Accept": accept})
        except DecooError as exc:  # a redirect to another origin
            raise FetchRefused(exc.message) from None

    async def _from(
        self, session: aiohttp.ClientSession, gateway: str, want: Wanted, profile: CidProfile
    ) -> None:
        """Fetch ``want.cid`` from one gateway into the store, or raise why not."""
        try:
            await self._store(self._trustless(session, gateway, want), want.cid, profile)
        except _NotTrustless as exc:
            log.debug("%s: %s; asking for the path form", gateway, exc)
        else:
            return
        response = await self._get(
            session, f"{gateway}/ipfs/{want.cid}", "application/octet-stream", want
        )
        async with response:
            if response.status != 200:
                raise FetchRefused(f"HTTP {response.status}")
            limit = self._state.config.max_upload_size
            if limit is not None and (response.content_length or 0) > limit:
                raise FetchRefused(f"{response.content_length} bytes, over the {limit}-byte limit")
            await self._store(_chunks(response), want.cid, profile)

    async def _trustless(
        self, session: aiohttp.ClientSession, gateway: str, want: Wanted
    ) -> AsyncGenerator[bytes, None]:
        """The file's bytes, leaf by leaf, from the gateway's CAR and raw blocks, all checked."""
        stack = [cid_from_str(want.cid)]  # the depth-first walk: CIDs only
        url = f"{gateway}/ipfs/{want.cid}?format=car&dag-scope=all&car-dups=y"
        async with await self._get(session, url, _CAR_ACCEPT, want) as response:
            if response.status != 200 or response.content_type != _CAR_TYPE:
                raise _NotTrustless(f"CAR: HTTP {response.status} {response.content_type}")
            reader = CarReader(response.content)
            try:
                async for block in reader:
                    if block.cid != stack[-1]:
                        break  # left out or out of order: the rest come as raw blocks
                    yield _walk(stack, block.cid, block.data)
                    if not stack:
                        break
            except BlockMismatch as exc:
                raise FetchRefused(str(exc)) from None
            except CarError as exc:
                log.debug("%s: CAR cut short (%s); asking for raw blocks", gateway, exc)
        while stack:
            cid = stack[-1]
            text = cid_to_str(cid)
            async with await self._get(
                session, f"{gateway}/ipfs/{text}?format=raw", _RAW_TYPE, want
            ) as response:
                if response.status != 200:
                    raise _NotTrustless(f"block {text}: HTTP {response.status}")
                data = bytearray()
                async for piece in response.content.iter_chunked(_READ):
                    data += piece
                    if len(data) > MAX_BLOCK:
                        raise FetchRefused(f"block {text}: over {MAX_BLOCK} bytes")
            if not block_matches(cid, data):
                raise FetchRefused(f"block {text}: its bytes do not match its CID")
            yield _walk(stack, cid, bytes(data))

    async def _store(
        self, pieces: AsyncGenerator[bytes, None], cid: str, profile: CidProfile
    ) -> None:
        state = self._state
        limit = state.config.max_upload_size
        temp = await self._in_thread(state.blobs.new_temp)
        stage = mmap.mmap(-1, STAGE)  # page-aligned, as the temp blob's O_DIRECT needs
        builder = FileBuilder(profile)
        filled = total = 0
        try:
            async with contextlib.aclosing(pieces):
                async for piece in pieces:
                    total += len(piece)
                    if limit is not None and total > limit:
                        raise FetchRefused(f"over the {limit}-byte limit")
                    view = memoryview(piece)
                    while view:
                        n = min(len(view), STAGE - filled)
                        stage[filled : filled + n] = view[:n]
                        filled, view = filled + n, view[n:]
                        if filled == STAGE:
                            await self._in_thread(_absorb, builder, temp, memoryview(stage))
                            filled = 0
            await self._in_thread(_absorb, builder, temp, memoryview(stage)[:filled])
            result = builder.finish()
            if result.cid != cid:
                raise FetchRefused(
                    f"its bytes hash to {result.cid} ({profile.name}), not to {cid}; refused"
                )
            await self._in_thread(temp.commit, cid)
        finally:
            await discard(state, temp)
            with contextlib.suppress(BufferError):
                stage.close()

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on a writer thread, never left running when this task is cancelled.

        The thread may be writing the temporary blob or reading the stage: both
        must stay until it is done, so a cancellation waits for it first.
        """
        future = asyncio.get_running_loop().run_in_executor(self._state.writers, fn, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await future
            raise
