"""Helpers for tests of the trustless gateway and the verifier: store a file, read a CAR."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from bulkpin.car import CarBlock, CarHeader, CarReader
from bulkpin.service.gateway_faults import GatewayFaultKind, GatewayFaults
from bulkpin.testing import Account, access_token
from bulkpin.unixfs.node import RAW, cid_from_str, decode_node, parse_cid
from tests.service.helpers import Reply, cid_of, pin_file, request, upload_parts
from tests.support.service import ServiceProcess

__all__ = [
    "file_bytes", "gateway_get", "ipfs_server", "leaves_of", "read_car", "sound_and_faulty",
    "store",
]

V1 = "unixfs-v1-2025"


def store(svc: ServiceProcess, data: bytes, profile: str = "unixfs-v0-2015") -> str:
    """Upload ``data`` to ``svc`` under ``profile``; its CID."""
    account = Account.load(svc.profile_path)
    cid = cid_of(data, profile)
    meta = json.dumps({"name": "f.bin", "cidProfile": profile})
    reply = pin_file(svc, access_token(svc, account),
                     upload_parts(data, account, cid=cid, metadata=meta))
    assert reply.status == 200, reply
    assert reply.json()["PinHash"] == cid
    return cid


def gateway_get(svc: ServiceProcess, cid: str, query: str = "", *, accept: str | None = None,
                method: str = "GET") -> Reply:
    """``GET /ipfs/{cid}?{query}`` on the service's Cloud."""
    headers = {"Accept": accept} if accept else {}
    url = f"{svc.cloud_url}/ipfs/{cid}" + (f"?{query}" if query else "")
    return request(method, url, headers=headers)


def read_car(body: bytes) -> tuple[CarHeader, list[CarBlock]]:
    """A whole CAR's header and (checked) blocks."""

    async def read() -> tuple[CarHeader, list[CarBlock]]:
        source = asyncio.StreamReader()
        source.feed_data(body)
        source.feed_eof()
        reader = CarReader(source)
        header = await reader.header()
        return header, [block async for block in reader]

    return asyncio.run(read())


def file_bytes(root: bytes, blocks: dict[bytes, bytes]) -> bytes:
    """The file a UnixFS DAG holds, read depth first from ``blocks``."""
    out = bytearray()
    stack = [root]
    while stack:
        cid = stack.pop()
        block = blocks[cid]
        if parse_cid(cid).codec == RAW:
            out += block
            continue
        node = decode_node(block)
        out += node.data
        stack.extend(reversed([link.cid for link in node.links]))
    return bytes(out)


@asynccontextmanager
async def ipfs_server(
    answer: Callable[[web.Request], Awaitable[web.Response]],
) -> AsyncIterator[str]:
    """An aiohttp server answering ``GET /ipfs/{cid}`` with ``answer``; yields its URL."""
    app = web.Application()
    app.router.add_get("/ipfs/{cid}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def leaves_of(svc: ServiceProcess, cid: str) -> list[bytes]:
    root = gateway_get(svc, cid, "format=raw").body
    return [link.cid for link in decode_node(root).links]


def sound_and_faulty(
    service_factory: Callable[..., ServiceProcess], data: bytes, kind: GatewayFaultKind,
    rate: float,
) -> tuple[ServiceProcess, ServiceProcess, str, list[bytes], GatewayFaults]:
    """Two services holding ``data``; the second's ``kind`` faults hit some leaves, not the root."""
    sound = service_factory()
    cid = store(sound, data, V1)
    root, leaves = cid_from_str(cid), leaves_of(sound, cid)
    for seed in range(200):
        plan = GatewayFaults(((kind, rate),), seed)
        if not plan.hits(kind, root) and any(plan.hits(kind, c) for c in leaves):
            break
    else:
        raise AssertionError("no seed found")
    faulty = service_factory("--gateway-faults", f"{kind}={rate}", "--fault-seed", str(seed))
    store(faulty, data, V1)
    return sound, faulty, cid, leaves, plan
