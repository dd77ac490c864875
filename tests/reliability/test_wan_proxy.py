"""The test proxy as a WAN link (issue 17, target 4): a delay line and one shared cap.

Asserted on the proxy's own schedule (``record=True``: every chunk with when
the link carried it, when it was due at the far side and when it was written
there) and on ordering, never on elapsed time: rates are measured in
``benchmarks/wan_bench.py``.
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Iterator

import pytest

from bulkpin.testing.proxy import ChaosProxy, Fault, Hop, Shape

RTT = 0.08
EPS = 1e-6


class EchoServer:
    """Real sockets: each connection's bytes come back once the client has sent them all."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            got = bytearray()
            while data := conn.recv(1 << 16):
                got += data
            conn.sendall(got)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


def _round_trip(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        back = bytearray()
        while data := s.recv(1 << 16):
            back += data
    return bytes(back)


def _of(hops: list[Hop], direction: str, connection: int | None = None) -> list[Hop]:
    return [h for h in hops if h.direction == direction
            and (connection is None or h.connection == connection)]


def test_each_direction_is_delayed_once_and_every_byte_arrives(echo: EchoServer) -> None:
    payload = bytes(range(256)) * 1000  # 256,000 bytes
    with ChaosProxy(echo.url, shape=Shape(rtt=RTT), record=True) as proxy:
        assert _round_trip(proxy.port, payload) == payload
        hops = list(proxy.stats.hops)
    up, down = _of(hops, "up"), _of(hops, "down")
    assert sum(h.size for h in up) == sum(h.size for h in down) == len(payload)
    for hop in hops:
        # Half a round trip on the line, once, whatever the direction; nothing early.
        assert hop.due - hop.end == pytest.approx(RTT / 2)
        assert hop.delivered >= hop.due - EPS
    # No cap: the link takes no time to carry a chunk.
    assert all(h.end == h.start for h in hops)
    # The echo could only answer once the last byte had arrived: the answer
    # leaves after the request is delivered, so a round trip costs two delays.
    assert min(h.start for h in down) >= max(h.delivered for h in up) - EPS
    # Bytes went out together rather than one delay per chunk in series: the
    # request's chunks were all on the line before the first was delivered.
    assert max(h.start for h in up) < min(h.delivered for h in up)


def test_the_cap_is_shared_by_every_connection_and_never_overbooked(echo: EchoServer) -> None:
    rate = 4_000_000
    payload = b"x" * 300_000
    with ChaosProxy(echo.url, shape=Shape(rtt=0.02, rate=rate), record=True) as proxy:
        threads = [threading.Thread(target=_round_trip, args=(proxy.port, payload))
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        hops = list(proxy.stats.hops)
        link = proxy.stats.link
    for direction in ("up", "down"):
        booked = sorted(_of(hops, direction), key=lambda h: h.start)
        assert sum(h.size for h in booked) == 3 * len(payload)
        for hop in booked:
            assert hop.end - hop.start == pytest.approx(hop.size / rate)
        # One link: a chunk starts only once the one before it (any connection's) is through.
        for before, after in itertools.pairwise(booked):
            assert after.start >= before.end - EPS
        assert link[direction].bytes == 3 * len(payload)
        assert link[direction].busy == pytest.approx(3 * len(payload) / rate)
    # The connections shared the link at the same time (not one after another).
    spans = [(min(h.start for h in mine), max(h.end for h in mine))
             for c in {h.connection for h in hops} if (mine := _of(hops, "up", c))]
    assert len(spans) == 3
    assert max(s for s, _ in spans) < min(e for _, e in spans)


def test_a_small_window_holds_a_connection_to_a_window_per_round_trip(echo: EchoServer) -> None:
    window = 64 * 1024
    payload = b"w" * (4 * window)
    with ChaosProxy(echo.url, shape=Shape(rtt=RTT, window=window), record=True) as proxy:
        assert _round_trip(proxy.port, payload) == payload
        up = sorted(_of(list(proxy.stats.hops), "up"), key=lambda h: h.start)
    # A chunk that would put more than a window in flight leaves only once enough
    # earlier chunks were delivered and acknowledged (half a round trip later).
    through, total = [], 0
    for hop in up:
        total += hop.size
        through.append(total)
    waited = 0
    for i, hop in enumerate(up):
        must_be_acked = through[i] - window
        if must_be_acked <= 0:
            continue
        k = next(j for j, t in enumerate(through) if t >= must_be_acked)
        assert k < i
        assert hop.start >= up[k].delivered + RTT / 2 - EPS
        waited += 1
    assert waited, "the payload never filled the window"


def test_a_new_connection_waits_a_round_trip_before_its_first_byte(echo: EchoServer) -> None:
    with ChaosProxy(echo.url, shape=Shape(rtt=RTT), record=True) as proxy:
        assert _round_trip(proxy.port, b"hello") == b"hello"
        (accepted,) = proxy.stats.accepted
        first = min(h.start for h in _of(list(proxy.stats.hops), "up"))
    # Both in the proxy's own schedule: the handshake's round trip, then the first byte.
    assert first >= accepted + RTT - EPS


def test_a_cut_on_a_shaped_link_still_delivers_what_came_before(echo: EchoServer) -> None:
    with ChaosProxy(echo.url, shape=Shape(rtt=RTT)) as proxy:
        proxy.set_fault(Fault("cut", at=1000))
        back = _round_trip(proxy.port, b"y" * 5000)
    assert back == b"y" * 1000


def test_a_shape_must_make_sense() -> None:
    with pytest.raises(ValueError, match="rtt"):
        Shape(rtt=-1)
    with pytest.raises(ValueError, match="rate"):
        Shape(rate=0)
    with pytest.raises(ValueError, match="window"):
        Shape(window=0)
