"""Slow clients are cut off; a flood of one listener leaves the others answering.

Issue 15, part 2, over real loopback connections to ``bulkpin serve`` (127.0.0.1 only).
Outcomes are asserted, never durations: the bounds below are only there so a
broken service fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator

from tests.support.service import ServiceProcess, wait_for

from .helpers import (
    Account,
    access_token,
    get,
    multipart,
    pin_file,
    raw_exchange,
    request,
    status_of,
    upload_parts,
)

#: The flood: sized for a small shared test machine.
FLOOD = 200
#: Seconds between the bytes a slow client sends.
DRIP = 0.25
#: Upper bound of any one wait below (never reached by a working service).
BOUND = 30.0


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port
    return parts.hostname, parts.port


def _connections(svc: ServiceProcess, listener: str) -> dict[str, int]:
    counts = svc.stats()["connections"][listener]
    assert isinstance(counts, dict)
    return counts


async def _slowloris(host: str, port: int) -> str:
    """Send a request's headers a byte at a time until the service hangs up; how it did."""
    reader, writer = await asyncio.open_connection(host, port)
    head = b"GET /pinning/pinJobs HTTP/1.1\r\nHost: x\r\nX-Slow: "
    answer = asyncio.ensure_future(reader.read(65536))
    try:
        sent = 0
        async with asyncio.timeout(BOUND):
            while not answer.done():
                byte = head[sent : sent + 1] or b"a"  # the header value never ends
                sent += 1
                try:
                    writer.write(byte)
                    await writer.drain()
                except ConnectionError:
                    break
                await asyncio.wait({answer}, timeout=DRIP)
            data = await answer
    except TimeoutError:
        return "still open"
    except ConnectionError:
        return "reset"
    finally:
        answer.cancel()
        writer.close()
    if not data:
        return "closed"
    return "408" if data.startswith(b"HTTP/1.1 408") else data[:12].decode("latin-1")


async def _flood(host: str, port: int, n: int) -> list[str]:
    return list(await asyncio.gather(*(_slowloris(host, port) for _ in range(n))))


def test_headers_sent_a_byte_at_a_time_are_cut_off(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--header-timeout", "1", "--max-connections", str(2 * FLOOD))
    host, port = _address(svc.endpoint_urls[0])
    outcomes = asyncio.run(_flood(host, port, FLOOD))
    assert "still open" not in outcomes
    assert set(outcomes) <= {"408", "closed", "reset"}, set(outcomes)
    assert "408" in outcomes  # an answer says why, where the client could read it
    counts = _connections(svc, "endpoint0")
    assert counts["headers_timed_out"] == FLOOD
    assert counts["refused"] == 0
    # The service is none the worse for it.
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    assert pin_file(svc, token, upload_parts(b"after the flood", account)).status == 200


@contextlib.contextmanager
def _held(host: str, port: int, n: int) -> Iterator[list[socket.socket]]:
    """``n`` connections that have begun a request and say no more."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.create_connection((host, port), timeout=BOUND)
            sock.sendall(b"GET /pinning/pinJobs HTTP/1.1\r\nHost: x\r\n")
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def test_past_the_cap_connections_are_refused_and_the_cloud_still_answers(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    cap = 40
    svc = service_factory("--max-connections", str(cap), "--header-timeout", "600")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    host, port = _address(svc.endpoint_urls[0])
    with _held(host, port, cap):
        wait_for(lambda: _connections(svc, "endpoint0")["open"] == cap, timeout=BOUND)
        # One more: refused at once, saying so, and closed.
        raw = raw_exchange(svc.endpoint_urls[0], b"", timeout=BOUND)
        assert status_of(raw) == 503
        head, _, body = raw.partition(b"\r\n\r\n")
        assert b"Connection: close" in head
        assert b"Retry-After: 1" in head
        assert b"too many connections" in body
        # The Cloud has its own cap: /ping and the rest answer meanwhile.
        assert get(svc.cloud_url + "/ping", account).status == 200
        assert get(svc.cloud_url + "/pinning/pinJobs", account).status == 200
        assert _connections(svc, "endpoint0")["refused"] >= 1
        assert _connections(svc, "cloud")["refused"] == 0
    # Once the flood lets go, the Endpoint serves again.
    wait_for(lambda: _connections(svc, "endpoint0")["open"] == 0, timeout=BOUND)
    assert pin_file(svc, token, upload_parts(b"after the cap", account)).status == 200


def _paced(body: bytes, piece: int, pause: float) -> Iterator[bytes]:
    for i in range(0, len(body), piece):
        yield body[i : i + piece]
        time.sleep(pause)


def test_a_slow_but_moving_body_completes(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    # 4 KiB every 0.1 s: about 40 times the minimum asked for, over about 3 s.
    svc = service_factory("--min-body-rate", "1024", "--body-rate-window", "1")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    data = bytes(range(256)) * 480
    body, ctype = multipart(upload_parts(data, account))
    reply = request(
        "POST", svc.endpoint_urls[0] + "/pinning/pinFile",
        headers={"UserAccessToken": token, "Content-Type": ctype},
        body=_paced(body, 4096, 0.1), chunked=True, timeout=BOUND,
    )
    assert reply.status == 200, reply
    assert reply.json()["PinSize"] == len(data)


def test_a_trickling_body_is_cut_off(service_factory: Callable[..., ServiceProcess]) -> None:
    # 16 bytes every 0.25 s (64 B/s) against a minimum of 1 KiB/s. The idle
    # timeout alone (default 30 s) never fires: a byte is never far away.
    svc = service_factory("--min-body-rate", "1024", "--body-rate-window", "1")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    body, ctype = multipart(upload_parts(b"t" * 20_000, account))
    head = (f"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nUserAccessToken: {token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    answer = b""
    with socket.create_connection(_address(svc.endpoint_urls[0]), timeout=BOUND) as sock:
        sock.sendall(head)
        sock.settimeout(DRIP)
        end = time.monotonic() + BOUND
        for i in range(0, len(body), 16):
            if time.monotonic() > end:
                break
            try:
                sock.sendall(body[i : i + 16])
                answer = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionError:
                pass
            break
        sock.settimeout(BOUND)
        with contextlib.suppress(ConnectionError, TimeoutError):
            while not answer.endswith(b"}") and (more := sock.recv(65536)):
                answer += more
    # Answered while the body was still trickling in, not after it was all sent.
    assert status_of(answer) == 408, answer[:200]
    assert b"slower than 1024 bytes/s" in answer
    assert svc.stats()["pins"] == 0
