"""Proving a CID retrievable from gateways, block by block, in bounded memory.

For each gateway in turn: ``GET /ipfs/{cid}?format=car&dag-scope=all``, every
block checked against its CID as it streams in (:class:`~bulkpin.car.CarReader`)
and walked depth first from the root (:class:`~._walk.DagWalk`); blocks the
CAR lacked are then asked for one by one as ``application/vnd.ipld.raw``.
Nothing is kept but CIDs. Each request is one attempt of the client's
:class:`~bulkpin.client.retry.RetryPolicy` (so 429's ``Retry-After``, 5xx,
timeouts and broken connections are retried as everywhere else), and each
attempt's whole answer is bounded by ``timeout``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from ..car import BlockMismatch, CarError, CarReader
from ..client.errors import (
    DecooError,
    HTTPStatusError,
    InvalidResponse,
    RequestTimeout,
    ServerError,
)
from ..client.retry import Attempt, RetryPolicy
from ..unixfs.node import (
    block_matches,
    cid_from_str,
    cid_to_str,
    decode_node,
    parse_cid,
    split_block,
)
from ._http import check_status, same_origin_get, transport_error
from ._outcomes import (
    Corrupt,
    FailureKind,
    GatewayFailure,
    Incomplete,
    Outcome,
    Retrievable,
    Unreachable,
    WrongSize,
)
from ._walk import DagWalk

__all__ = ["DEFAULT_TIMEOUT", "verify_cid"]

#: Seconds one answer (a whole CAR, or one raw block) may take.
DEFAULT_TIMEOUT = 300.0
_CAR = "application/vnd.ipld.car"
_RAW = "application/vnd.ipld.raw"


class _Found(Exception):  # a verdict carried out of the retry loop, not a failure
    """A finding that ends a gateway's check at once (corrupt block, wrong size)."""

    def __init__(self, outcome: Corrupt | WrongSize) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class _Check:
    """One gateway's check of one CID."""

    session: aiohttp.ClientSession
    gateway: str
    cid: str
    expected_size: int | None
    timeout: float
    policy: RetryPolicy
    clock: Callable[[], float]
    walk: DagWalk = field(init=False)
    started: float = 0.0
    first_byte: float | None = None
    received: int = 0
    size: int | None = None

    def __post_init__(self) -> None:
        self.walk = DagWalk(cid_from_str(self.cid))

    def _accept(self, cid: bytes, data: bytes) -> None:
        """A block whose bytes match its CID: walk it (and check the root's size)."""
        self.received += len(data)
        try:
            links, _ = split_block(cid, data)
        except ValueError as exc:
            raise _Found(Corrupt(self.cid, cid_to_str(cid), self.gateway, str(exc))) from None
        if cid == self.walk.root:
            self._check_size(cid, data)
        self.walk.arrived(cid, links)

    def _check_size(self, cid: bytes, data: bytes) -> None:
        if parse_cid(cid).codec == 0x55:
            self.size = len(data)
        else:
            node = decode_node(data)
            self.size = node.filesize if node.filesize is not None else (
                len(node.data) if node.kind in (0, 2) else None
            )
        if self.expected_size is not None and self.size != self.expected_size:
            raise _Found(WrongSize(self.cid, self.gateway, self.expected_size, self.size))

    async def _car_attempt(self, _: Attempt) -> None:
        self.walk = DagWalk(self.walk.root)  # each attempt starts over
        self.received = 0
        self.started = self.clock()
        self.first_byte = None
        url = f"{self.gateway}/ipfs/{self.cid}?format=car&dag-scope=all"
        try:
            async with asyncio.timeout(self.timeout):
                response = await same_origin_get(
                    self.session, url, headers={"Accept": f"{_CAR}; version=1; order=dfs"}
                )
                async with response:
                    await check_status(response, url)
                    if response.content_type != _CAR:
                        # A path-only gateway ignoring format=car: asking again will not help.
                        refused = InvalidResponse(
                            f"{url}: answered {response.content_type}, not a CAR",
                            operation="gateway", status=response.status,
                        )
                        refused.final = True
                        raise refused
                    reader = CarReader(response.content)
                    await reader.header()  # roots are not relied on (the spec's advice)
                    async for block in reader:
                        if self.first_byte is None:
                            self.first_byte = self.clock()
                        self._accept(block.cid, block.data)
        except BlockMismatch as exc:
            raise _Found(Corrupt(self.cid, cid_to_str(exc.cid), self.gateway,
                                 "its bytes do not match its CID")) from None
        except CarError as exc:
            # A cut or garbled stream: an unreadable answer, which is retried.
            raise InvalidResponse(f"{url}: {exc}", operation="gateway") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise transport_error(exc, url) from None

    async def _raw_attempt(self, cid: bytes, _: Attempt) -> bytes:
        url = f"{self.gateway}/ipfs/{cid_to_str(cid)}?format=raw"
        try:
            async with asyncio.timeout(self.timeout):
                response = await same_origin_get(self.session, url, headers={"Accept": _RAW})
                async with response:
                    await check_status(response, url)
                    data = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise transport_error(exc, url) from None
        if not block_matches(cid, data):
            raise _Found(Corrupt(self.cid, cid_to_str(cid), self.gateway,
                                 "its raw bytes do not match its CID"))
        return data

    async def run(self) -> Outcome | GatewayFailure:
        """This gateway's verdict: an outcome, or why it gave none."""
        try:
            await self.policy.call("verify", self._car_attempt)
            missing: list[str] = []
            while (cid := self.walk.next) is not None:
                try:
                    fetch = functools.partial(self._raw_attempt, cid)
                    data = await self.policy.call("verify", fetch)
                except HTTPStatusError as exc:
                    if exc.status != 404:
                        raise
                    missing.append(cid_to_str(self.walk.skip()))
                    continue
                self._accept(cid, data)
        except _Found as found:
            return found.outcome
        except DecooError as exc:
            return _failure(self.gateway, exc)
        if missing:
            return Incomplete(self.cid, self.gateway, tuple(missing))
        elapsed = self.clock() - self.started
        return Retrievable(
            self.cid, self.gateway,
            ttfb=(self.first_byte or self.clock()) - self.started,
            bytes_per_second=self.received / elapsed if elapsed > 0 else float(self.received),
            bytes=self.received, blocks=self.walk.visited, size=self.size,
        )


def _failure(gateway: str, exc: DecooError) -> GatewayFailure:
    status = exc.status if isinstance(exc, HTTPStatusError) else None
    kind: FailureKind
    if isinstance(exc, RequestTimeout):
        kind = "timeout"
    elif status == 404:
        kind = "not-found"
    elif isinstance(exc, ServerError):
        kind = "server-error"
    elif isinstance(exc, HTTPStatusError):
        kind = "http-error"
    elif isinstance(exc, InvalidResponse):
        kind = "invalid-answer"
    else:
        kind = "connection"
    return GatewayFailure(gateway, kind, status, exc.message)


async def verify_cid(
    session: aiohttp.ClientSession,
    gateways: str | Sequence[str],
    cid: str,
    *,
    expected_size: int | None = None,
    answer_timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Prove ``cid`` retrievable from ``gateways`` (base URLs, tried in order).

    The first gateway that yields every block wins (:class:`Retrievable`). A
    corrupt block or a root of another size than ``expected_size`` ends the
    search (:class:`Corrupt`, :class:`WrongSize`); a gateway that lacks blocks
    (:class:`Incomplete`) or fails (:class:`GatewayFailure`) passes the turn to
    the next. ``answer_timeout`` bounds each answer whole, not each read; ``retry``
    defaults to the client's policy with three attempts; ``clock`` times the
    answers (monotonic seconds).
    """
    bases = [gateways] if isinstance(gateways, str) else list(gateways)
    if not bases:
        raise ValueError("verify_cid: no gateway given")
    cid = cid_to_str(cid_from_str(cid))  # ValueError for what is not a CID
    policy = retry if retry is not None else RetryPolicy(max_attempts=3)
    failures: list[GatewayFailure] = []
    incomplete: Incomplete | None = None
    for base in bases:
        check = _Check(session, base.rstrip("/"), cid, expected_size, answer_timeout, policy,
                       clock)
        result = await check.run()
        if isinstance(result, GatewayFailure):
            failures.append(result)
        elif isinstance(result, Incomplete):
            incomplete = incomplete or result
        elif isinstance(result, Retrievable | Corrupt):
            return _with_failures(result, failures)
        else:
            return result
    if incomplete is not None:
        return Incomplete(incomplete.cid, incomplete.gateway, incomplete.missing, tuple(failures))
    return Unreachable(cid, tuple(failures))


def _with_failures(result: Retrievable | Corrupt, failures: list[GatewayFailure]
                   ) -> Retrievable | Corrupt:
    if isinstance(result, Retrievable):
        return Retrievable(result.cid, result.gateway, result.ttfb, result.bytes_per_second,
                           result.bytes, result.blocks, result.size, tuple(failures))
    return Corrupt(result.cid, result.block, result.gateway, result.reason, tuple(failures))
