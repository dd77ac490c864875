"""``DecooClient.pin_stream``: a pinFile body read from an async reader, against ``bulkpin serve``.

What goes over the wire is watched through the fault proxy's tap: an exact
``Content-Length`` when the size is known, a chunked request when it is not.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bulkpin.client import FileChangedError
from bulkpin.client.multipart import MIN_PIECE, READ_AHEAD, ByteReader, buffer_bytes
from bulkpin.testing import ChaosProxy
from bulkpin.testing.proxy import Fault
from bulkpin.unixfs import hash_bytes
from tests.client.helpers import make_client, requests
from tests.support.push import all_pins
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


class Reader:
    """Hands out ``data`` in uneven pieces, as a network body does."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    async def read(self, n: int) -> bytes:
        piece = bytes(self._data[self._at:self._at + min(n, 70_001)])
        self._at += len(piece)
        return piece


def opener(*versions: bytes) -> tuple[object, list[int]]:
    """Opens a reader per attempt (the last version repeats); counts the opens."""
    opened: list[int] = []

    @asynccontextmanager
    async def open_reader() -> AsyncIterator[ByteReader]:
        opened.append(1)
        yield Reader(versions[min(len(opened), len(versions)) - 1])

    return open_reader, opened


def _request_head(seen: bytearray) -> bytes:
    start = seen.find(b"POST /pinning/pinFile")
    return bytes(seen[start:seen.find(b"\r\n\r\n", start)])


@pytest.mark.parametrize("known", [True, False])
async def test_a_stream_is_pinned_with_its_length_or_chunked(
    service: ServiceProcess, known: bool
) -> None:
    data = os.urandom(2 * MIB + 5)
    open_reader, opened = opener(data)
    seen = bytearray()
    with ChaosProxy(service.endpoint_urls[0]) as endpoint:
        endpoint.tap = seen.extend
        async with make_client(service, endpoint=endpoint.url) as client:
            result = await client.pin_stream(
                open_reader, size=len(data) if known else None,  # type: ignore[arg-type]
                filename="dir/x.bin", name="dir/x.bin",
            )
    assert result.cid == hash_bytes(data).cid
    assert result.size == len(data)
    assert opened == [1]
    head = _request_head(seen).lower()
    if known:
        assert b"content-length: " in head
        assert b"transfer-encoding" not in head
    else:
        assert b"transfer-encoding: chunked" in head
        assert b"content-length" not in head
    [pin] = all_pins(service)
    assert pin["PinHash"] == result.cid
    assert pin["Metadata"]["name"] == "dir/x.bin"


async def test_bytes_that_do_not_hash_to_the_given_cid_are_never_pinned(
    service: ServiceProcess,
) -> None:
    data = os.urandom(300_000)
    open_reader, _ = opener(data)
    async with make_client(service) as client:
        with pytest.raises(FileChangedError, match="hash to"):
            await client.pin_stream(open_reader, size=len(data),  # type: ignore[arg-type]
                                    filename="x", cid=hash_bytes(b"other").cid)
    assert all_pins(service) == []


async def test_a_stream_shorter_than_promised_is_abandoned(service: ServiceProcess) -> None:
    open_reader, _ = opener(b"x" * 1000)
    async with make_client(service) as client:
        with pytest.raises(FileChangedError, match="1000 bytes read, 2000 expected"):
            await client.pin_stream(open_reader, size=2000,  # type: ignore[arg-type]
                                    filename="x")
    assert all_pins(service) == []


async def test_a_failed_attempt_reopens_the_stream_from_its_start(
    service: ServiceProcess,
) -> None:
    data = os.urandom(MIB)
    open_reader, opened = opener(data)
    with ChaosProxy(service.endpoint_urls[0]) as endpoint:
        # The first upload connection is reset part-way; later ones pass.
        endpoint.set_fault(Fault("reset", at=300_000))

        @asynccontextmanager
        async def reopen() -> AsyncIterator[ByteReader]:
            if opened:
                endpoint.set_fault(Fault())
            async with open_reader() as reader:  # type: ignore[operator]
                yield reader

        async with make_client(service, endpoint=endpoint.url) as client:
            result = await client.pin_stream(reopen, size=len(data), filename="x")
    assert result.cid == hash_bytes(data).cid
    assert len(opened) == 2
    assert requests(service.stats(), "pinFile", "200") == 1
    assert service.stats()["duplicate_jobs"] == 0


async def test_the_source_is_read_ahead_of_a_stalled_service_and_no_further(
    service: ServiceProcess,
) -> None:
    """While the service takes nothing, the reader runs READ_AHEAD chunks ahead, then waits.

    The proxy in front of the Endpoint stops relaying (its tap blocks its
    thread) when the upload starts, so the client's writes stop once the
    socket buffers are full; the source must go on being read meanwhile (the
    two legs overlap), but only as far as the read-ahead allows (memory).
    """
    data = os.urandom(24 * MIB)
    sent = 0
    leads: list[int] = []
    far_enough = threading.Event()

    class Watched(Reader):
        async def read(self, n: int) -> bytes:
            piece = await super().read(n)
            leads.append(self._at - sent)
            if leads[-1] >= READ_AHEAD * MIB:
                far_enough.set()
            return piece

    @asynccontextmanager
    async def open_reader() -> AsyncIterator[ByteReader]:
        yield Watched(data)

    def progress(delta: int) -> None:
        nonlocal sent
        sent += delta

    stalled: list[bool] = []

    def stall_once(chunk: bytes) -> None:
        if not stalled and b"POST /pinning/pinFile" in chunk:
            stalled.append(far_enough.wait(60))

    with ChaosProxy(service.endpoint_urls[0], rcvbuf=64 * 1024) as endpoint:
        endpoint.tap = stall_once
        async with make_client(service, endpoint=endpoint.url) as client:
            result = await client.pin_stream(open_reader, size=len(data), filename="x",
                                             on_progress=progress)
    assert stalled == [True], "the reader did not run ahead while the service stalled"
    assert max(leads) <= buffer_bytes(MIB)
    assert result.cid == hash_bytes(data).cid


async def test_a_slow_source_is_sent_on_before_a_whole_chunk_arrived(
    service: ServiceProcess,
) -> None:
    """The service gets the first MIN_PIECE bytes without waiting for a 1 MiB chunk.

    The source gives MIN_PIECE bytes, then nothing more until the service has
    been sent some of them: a body that waited to fill a chunk would wait forever.
    """
    data = os.urandom(2 * MIB)
    loop = asyncio.get_running_loop()
    delivered = asyncio.Event()
    seen = bytearray()

    def tap(chunk: bytes) -> None:
        seen.extend(chunk)
        if data[:MIN_PIECE] in seen:
            loop.call_soon_threadsafe(delivered.set)

    class Trickle(Reader):
        async def read(self, n: int) -> bytes:
            if self._at >= MIN_PIECE:
                await asyncio.wait_for(delivered.wait(), 60)
            return await super().read(min(n, MIN_PIECE - self._at if self._at < MIN_PIECE
                                          else n))

    @asynccontextmanager
    async def open_reader() -> AsyncIterator[ByteReader]:
        yield Trickle(data)

    with ChaosProxy(service.endpoint_urls[0]) as endpoint:
        endpoint.tap = tap
        async with make_client(service, endpoint=endpoint.url) as client:
            result = await client.pin_stream(open_reader, size=len(data), filename="x")
    assert result.cid == hash_bytes(data).cid
