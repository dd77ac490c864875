"""A seeded TCP proxy on loopback, for the faults ``bulkpin serve`` cannot fake from inside.

The service's own ``--faults`` act per request, inside HTTP. This proxy acts on
the byte stream between a client and the service, per connection:

========= ==============================================================
pass      bytes go through untouched
reset     the connection is reset (RST) once ``at`` bytes of the request
          stream went through: a reset at a chosen byte
blackhole the connection is accepted, everything sent is read and dropped,
          nothing ever comes back (no upstream connection is made)
slow      both directions are paced to ``rate`` bytes per second
cut       the answer stream is cut (FIN) after ``at`` bytes: a response
          cut short
========= ==============================================================

Which fault a new connection gets is drawn by one :class:`random.Random`
seeded at construction, one draw per accepted connection, so a run that opens
its connections in the same order meets the same faults.

Two optional HTTP-aware hooks, for tests that need to see or change what is
said rather than how it travels:

- ``tap(chunk)`` receives every chunk of the request stream (to find the
  credentials a client sent, say);
- ``rewrite(request_line, response) -> response`` may replace an answer. The
  proxy then reads each answer as HTTP/1.1 (status line, headers, a
  ``Content-Length`` body; chunked answers pass untouched) and pairs it with
  the last request line seen on the connection, which is right for a client
  that does not pipeline (aiohttp does not).

With ``tls`` it terminates TLS, so the plain-HTTP service can be reached over
HTTPS with a certificate from a test authority.

With a :class:`Shape` (``shape=`` or :meth:`ChaosProxy.set_shape`) it is a WAN
link: every byte arrives ``rtt / 2`` later in each direction (a delay line: bytes
are in flight together, so the delay costs no throughput), a new connection
waits one round trip before its first byte (the TCP handshake), and each
direction is capped at ``rate`` bytes per second *shared by every connection*
(one link, not one pipe per connection). Each connection may have at most
``window`` bytes in flight per direction, freed half a round trip after they
arrive (when the acknowledgement would be back), as TCP's window would. Faults
still act at once, on the unshaped stream.

With no faults set it is a plain relay: an HTTPS front for the plain-HTTP
service, or an Endpoint that can be made to go away (``stop``) while the
service runs on.

The proxy runs its own event loop in a daemon thread, so synchronous and async
tests, benchmarks and subprocesses under test can all use it; ``set_faults`` and the hooks may
be changed while it runs (they apply to new connections and answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Self
from urllib.parse import urlsplit

from .._startstop import StartStop

__all__ = [
    "PASS",
    "ChaosProxy",
    "Fault",
    "FaultKind",
    "Hop",
    "LinkStats",
    "ProxyStats",
    "Response",
    "Rewrite",
    "Shape",
    "Tap",
]

FaultKind = Literal["pass", "reset", "blackhole", "slow", "cut"]

_READ = 64 * 1024
_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (\S+) HTTP/1\.[01]\r\n")


@dataclass(frozen=True, slots=True)
class Fault:
    """What happens to one connection; ``at`` in bytes, ``rate`` in bytes per second."""

    kind: FaultKind = "pass"
    at: int = 0
    rate: int = 0

    def __post_init__(self) -> None:
        if self.kind == "slow" and self.rate <= 0:
            raise ValueError("a slow link needs a positive rate")
        if self.at < 0:
            raise ValueError("at must not be negative")


PASS = Fault()

#: Seconds of link time a sender may book ahead of the clock. The schedule stays
#: exact (each chunk still leaves when the link is free, and arrives ``rtt / 2``
#: after); the lead only keeps the link busy when this thread wakes late, as it
#: does on a loaded machine (without it, 100 Mbit/s carried 88).
LINK_LEAD = 0.05

#: Bytes a shaped connection may have in flight per direction, unless told: large
#: enough not to be what limits 1 Gbit/s at 200 ms round trip (25 MB).
DEFAULT_WINDOW = 32 << 20


@dataclass(frozen=True, slots=True)
class Shape:
    """A WAN link: ``rtt`` seconds of round trip, ``rate`` bytes per second each way.

    ``rate`` None leaves the link uncapped (delay only); ``window`` bounds the
    bytes one connection has in flight per direction (TCP's window).
    """

    rtt: float = 0.0
    rate: int | None = None
    window: int = DEFAULT_WINDOW
    handshake: bool = True

    def __post_init__(self) -> None:
        if self.rtt < 0:
            raise ValueError("rtt must not be negative")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("a capped link needs a positive rate")
        if self.window <= 0:
            raise ValueError("window must be positive")


@dataclass(frozen=True, slots=True)
class Hop:
    """One chunk through the shaped link, in the proxy loop's clock (seconds).

    The link carried it from ``start`` to ``end`` (``n / rate``); it was due at
    the far side ``delay`` later (``due``) and was written there at ``delivered``.
    """

    direction: Literal["up", "down"]
    connection: int
    size: int
    start: float
    end: float
    due: float
    delivered: float


@dataclass
class LinkStats:
    """One direction of the shaped link: bytes carried, and the seconds it was busy."""

    bytes: int = 0
    busy: float = 0.0


@dataclass(slots=True)
class Response:
    """One HTTP/1.1 answer as the rewrite hook sees it."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def with_header(self, name: str, value: str) -> Response:
        """A copy with ``name`` set to ``value`` (replacing any existing one)."""
        kept = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        return replace(self, headers=[*kept, (name, value)])

    def encode(self) -> bytes:
        """The answer on the wire, its ``Content-Length`` made to fit the body."""
        head = [f"HTTP/1.1 {self.status} {self.reason}"]
        head += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


Rewrite = Callable[[str, Response], Response]
Tap = Callable[[bytes], None]


@dataclass
class ProxyStats:
    """What the proxy did: connections by fault, requests, and bytes each way."""

    connections: Counter[str] = field(default_factory=Counter)
    #: Requests seen going through, by ``METHOD /path`` (request lines in the stream).
    requests: Counter[str] = field(default_factory=Counter)
    bytes_up: int = 0
    bytes_down: int = 0
    rewritten: int = 0
    #: The shaped link, per direction ("up": client to service).
    link: dict[str, LinkStats] = field(
        default_factory=lambda: {"up": LinkStats(), "down": LinkStats()})
    #: Every chunk through the shaped link, when the proxy was made with ``record=True``.
    hops: list[Hop] = field(default_factory=list)
    #: When each connection was accepted (the loop's clock, as ``hops``), with ``record=True``.
    accepted: list[float] = field(default_factory=list)


class _Link:
    """One direction of the shaped link: chunks leave one after another at ``rate``.

    Shared by every connection, so the cap holds for the sum of them; each
    chunk books the next free stretch of the link (first come, first served).
    """

    def __init__(self, rate: int | None, stats: LinkStats) -> None:
        self.rate = rate
        self.stats = stats
        self._free_at = 0.0

    def book(self, now: float, size: int) -> tuple[float, float]:
        """The stretch of time the link carries ``size`` bytes sent at ``now``."""
        start = max(now, self._free_at)
        end = start + (size / self.rate if self.rate else 0.0)
        self._free_at = end
        self.stats.bytes += size
        self.stats.busy += end - start
        return start, end


class _Line:
    """One direction of one shaped connection: the link's pace, then a delay line.

    ``send`` books the link and returns once the chunk is on it (so a sender is
    paced to the link, never faster); a delivery task writes each chunk to the
    far side when it is due. Chunks queue in between, so a round trip's worth
    of bytes travels at once and the delay costs no throughput.
    """

    def __init__(self, proxy: ChaosProxy, link: _Link, shape: Shape, connection: int,
                 direction: Literal["up", "down"], dest: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.link = link
        self.delay = shape.rtt / 2
        self.window = shape.window
        self.connection = connection
        self.direction = direction
        self.dest = dest
        self._in_flight = 0
        self._freed = asyncio.Event()
        self._queue: asyncio.Queue[tuple[float, float, float, bytes | None]] = asyncio.Queue()
        self._task = asyncio.create_task(self._deliver())

    async def send(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        while self._in_flight and self._in_flight + len(data) > self.window:
            self._freed.clear()
            await self._freed.wait()
        if self._task.done():
            raise ConnectionResetError("the far side of the shaped link went away")
        self._in_flight += len(data)
        now = loop.time()
        start, end = self.link.book(now, len(data))
        self._queue.put_nowait((start, end, end + self.delay, data))
        if end - LINK_LEAD > now:
            await asyncio.sleep(end - LINK_LEAD - now)

    async def finish(self) -> None:
        """Send the end of the stream (after every byte before it), and wait for it."""
        now = asyncio.get_running_loop().time()
        self._queue.put_nowait((now, now, now + self.delay, None))
        await asyncio.shield(self._task)

    def cancel(self) -> None:
        self._task.cancel()

    def _release(self, size: int) -> None:
        self._in_flight -= size
        self._freed.set()

    async def _deliver(self) -> None:
        try:
            await self._deliver_all()
        except (ConnectionError, OSError):
            self.dest.transport.abort()
        finally:
            self._freed.set()  # a sender waiting on the window learns the line is gone

    async def _deliver_all(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start, end, due, data = await self._queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if data is None:
                if self.dest.can_write_eof():
                    self.dest.write_eof()
                return
            self.dest.write(data)
            await self.dest.drain()
            if self.proxy.record:
                self.proxy.stats.hops.append(Hop(self.direction, self.connection, len(data),
                                                 start, end, due, loop.time()))
            # The window frees when the acknowledgement would be back.
            loop.call_later(self.delay, self._release, len(data))


class _Reset(Exception):
    """The fault says: reset the connection now."""


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ChaosProxy(StartStop):
    """Listens on a free loopback port and relays each connection to ``target_url``."""

    def __init__(self, target_url: str, *, seed: int = 0, port: int = 0,
                 rcvbuf: int | None = None, tls: ssl.SSLContext | None = None,
                 shape: Shape | None = None, record: bool = False) -> None:
        parts = urlsplit(target_url)
        assert parts.hostname is not None
        assert parts.port is not None
        self._target = (parts.hostname, parts.port)
        self._rng = random.Random(seed)  # noqa: S311 - replayable faults, not secrets
        self._faults: tuple[tuple[Fault, float], ...] = ()
        self._default = PASS
        self.tap: Tap | None = None
        self.rewrite: Rewrite | None = None
        self.stats = ProxyStats()
        self.port = port
        #: Caps the kernel's receive buffer of accepted connections (autotuning
        #: can buffer tens of MiB on loopback, hiding a slow link from the sender).
        self.rcvbuf = rcvbuf
        #: Terminates TLS with this context (the service behind speaks plain HTTP).
        self.tls = tls
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Keeps every chunk of the shaped link in ``stats.hops`` (for tests).
        self.record = record
        self._shape: Shape | None = None
        self._links: tuple[_Link, _Link] | None = None
        self._accepted = 0
        self.set_shape(shape)

    # -- configuration (any thread) --

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def set_fault(self, fault: Fault) -> None:
        """Every new connection gets ``fault``."""
        self._faults = ()
        self._default = fault

    def set_faults(self, faults: Sequence[tuple[Fault, float]], default: Fault = PASS) -> None:
        """New connections draw a fault from ``faults`` (with probabilities), else ``default``."""
        if sum(p for _, p in faults) > 1.0 + 1e-9:
            raise ValueError("fault probabilities add up to more than 1")
        self._faults = tuple(faults)
        self._default = default

    @property
    def shape(self) -> Shape | None:
        """The link new connections go through (None: loopback, unshaped)."""
        return self._shape

    def set_shape(self, shape: Shape | None) -> None:
        """New connections go through ``shape`` (a fresh link, shared by all of them)."""
        self._shape = shape
        self._links = None if shape is None else (
            _Link(shape.rate, self.stats.link["up"]), _Link(shape.rate, self.stats.link["down"]))

    def _draw(self) -> Fault:
        if not self._faults:
            return self._default
        draw = self._rng.random()
        for fault, p in self._faults:
            if draw < p:
                return fault
            draw -= p
        return self._default

    # -- lifetime --

    def start(self) -> Self:
        """Start the loop thread and listen; returns once connections are accepted."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                listener = socket.socket()
                if self.rcvbuf is not None:
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
                listener.bind(("127.0.0.1", self.port))
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._accept, sock=listener, ssl=self.tls)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop listening, cut every connection and end the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._loop = self._thread = None

    async def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._abort_all()
        # Cut connections end their tasks; cancelling them instead makes asyncio's
        # stream callback log the CancelledError.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # -- relaying (loop thread) --

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        fault = self._draw()
        self.stats.connections[fault.kind] += 1
        if self.record:
            self.stats.accepted.append(asyncio.get_running_loop().time())
        self._accepted += 1
        number, shape, links = self._accepted, self._shape, self._links
        upstream: asyncio.StreamWriter | None = None
        try:
            if fault.kind == "blackhole":
                while await reader.read(_READ):
                    pass
                return
            try:
                up_reader, upstream = await asyncio.open_connection(*self._target)
            except OSError:
                _rst(writer)
                return
            self._writers.add(upstream)
            conn = _Connection(self, fault, writer, upstream)
            if shape is not None and links is not None:
                conn.shape(shape, links, number)
            try:
                await asyncio.gather(conn.up(reader), conn.down(up_reader))
            finally:
                conn.cancel_lines()
        except _Reset:
            _rst(writer)
            if upstream is not None:
                _rst(upstream)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()
            self._tasks.discard(task)


async def _relay(line: _Line | None, writer: asyncio.StreamWriter, data: bytes) -> None:
    """``data`` on to one direction's peer: through its line when the link is shaped."""
    if line is not None:
        await line.send(data)
    else:
        writer.write(data)
        await writer.drain()


async def _finish(line: _Line | None, writer: asyncio.StreamWriter) -> None:
    """One direction's FIN, behind whatever is still on its line."""
    if line is not None:
        await line.finish()
    elif writer.can_write_eof():
        writer.write_eof()


class _Connection:
    """Both directions of one relayed connection."""

    def __init__(self, proxy: ChaosProxy, fault: Fault, client: asyncio.StreamWriter,
                 upstream: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.fault = fault
        self.client = client
        self.upstream = upstream
        self.sent_up = 0
        self.sent_down = 0
        self.request_line = ""
        self._carry = b""
        self._up: _Line | None = None
        self._down: _Line | None = None
        self._handshake = 0.0

    def shape(self, shape: Shape, links: tuple[_Link, _Link], number: int) -> None:
        self._up = _Line(self.proxy, links[0], shape, number, "up", self.upstream)
        self._down = _Line(self.proxy, links[1], shape, number, "down", self.client)
        self._handshake = shape.rtt if shape.handshake else 0.0

    def cancel_lines(self) -> None:
        for line in (self._up, self._down):
            if line is not None:
                line.cancel()

    async def _pace(self, n: int) -> None:
        if self.fault.kind == "slow":
            await asyncio.sleep(n / self.fault.rate)

    def _chunk(self) -> int:
        if self.fault.kind == "slow":
            return max(1, min(_READ, self.fault.rate // 20))
        return _READ

    def _see_request(self, data: bytes) -> None:
        window = self._carry + data
        for match in _REQUEST_LINE.finditer(window):
            if match.end() <= len(self._carry):
                continue  # seen with the previous chunk
            self.request_line = match.group(0).decode("latin-1").strip()
            method, target = match.group(1).decode(), match.group(2).decode("latin-1")
            self.proxy.stats.requests[f"{method} {target.partition('?')[0]}"] += 1
        self._carry = window[-256:]
        if self.proxy.tap is not None:
            self.proxy.tap(data)

    async def up(self, reader: asyncio.StreamReader) -> None:
        """Client to service."""
        try:
            if self._handshake:
                # SYN, SYN-ACK: the client's first byte leaves one round trip after connect.
                await asyncio.sleep(self._handshake)
            while data := await reader.read(self._chunk()):
                reset = self.fault.kind == "reset" and self.sent_up + len(data) >= self.fault.at
                if reset:
                    data = data[: self.fault.at - self.sent_up]
                self._see_request(data)
                if reset:
                    if data:
                        self.upstream.write(data)
                        self.proxy.stats.bytes_up += len(data)
                    raise _Reset
                await self._pace(len(data))
                await _relay(self._up, self.upstream, data)
                self.sent_up += len(data)
                self.proxy.stats.bytes_up += len(data)
            await _finish(self._up, self.upstream)
        except (ConnectionError, OSError):
            self.client.transport.abort()
            self.upstream.transport.abort()

    async def down(self, reader: asyncio.StreamReader) -> None:
        """Service to client."""
        try:
            if self.proxy.rewrite is not None:
                await self._down_http(reader)
            else:
                while data := await reader.read(self._chunk()):
                    await self._send_down(data)
            await _finish(self._down, self.client)
        except _CutShort:
            self.client.close()
            self.upstream.transport.abort()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            self.client.transport.abort()
            self.upstream.transport.abort()

    async def _send_down(self, data: bytes) -> None:
        if self.fault.kind == "cut" and self.sent_down + len(data) >= self.fault.at:
            keep = data[: self.fault.at - self.sent_down]
            self.proxy.stats.bytes_down += len(keep)
            await _relay(self._down, self.client, keep)
            if self._down is not None:
                # Behind what is still on the line, then the FIN.
                await self._down.finish()
            raise _CutShort
        await self._pace(len(data))
        await _relay(self._down, self.client, data)
        self.sent_down += len(data)
        self.proxy.stats.bytes_down += len(data)

    async def _down_http(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    await self._send_down(exc.partial)
                return
            lines = head.decode("latin-1").split("\r\n")
            version_status = lines[0].split(" ", 2)
            headers = [
                (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])
                if k
            ]
            response = Response(int(version_status[1]),
                                version_status[2] if len(version_status) > 2 else "", headers, b"")
            length = response.header("Content-Length")
            if length is None:
                # Chunked or close-delimited: relay untouched.
                await self._send_down(head)
                while data := await reader.read(_READ):
                    await self._send_down(data)
                return
            response.body = await reader.readexactly(int(length))
            hook = self.proxy.rewrite
            if hook is not None:
                changed = hook(self.request_line, response)
                if changed is not response:
                    self.proxy.stats.rewritten += 1
                response = changed
            await self._send_down(response.encode())


class _CutShort(Exception):
    """The fault says: end the answer stream here."""
