"""``bulkpin push --urls FILE``: an aiohttp file server on loopback -> bulkpin -> ``bulkpin serve``.

The server serves the same bytes three ways: as files (``Content-Length``,
``ETag``, ``Last-Modified``, ``Range``), chunked with no length and no
validator, and with a length but no validator and no ranges.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import PushOptions, PushSummary
from bulkpin.push.remote_listing import RemoteSpec
from bulkpin.push.remote_read import RemoteSources
from bulkpin.sources.http import HttpSource
from bulkpin.sources.objects import push_remote
from bulkpin.testing.proxy import ChaosProxy, Fault
from bulkpin.testing.s3server import pattern
from bulkpin.unixfs import hash_bytes
from tests.push.remote_support import pinned_cids
from tests.support.push import POLL_INTERVAL, manifest
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024

CONTENT = {
    "empty.bin": b"",
    "small.txt": b"hello over http\n",
    "edge.bin": pattern("edge", 262145),
    "big.bin": pattern("big", 3 * MIB + 11),
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """The file server's base URL."""
    root = tmp_path / "www"
    root.mkdir()
    for name, data in CONTENT.items():
        (root / name).write_bytes(data)

    async def chunked(request: web.Request) -> web.StreamResponse:
        data = CONTENT[request.match_info["name"]]
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 65536):
            await response.write(data[start:start + 65536])
        await response.write_eof()
        return response

    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=CONTENT[request.match_info["name"]])

    app = web.Application()
    app.router.add_static("/files/", root)
    app.router.add_get("/chunked/{name}", chunked)
    app.router.add_get("/plain/{name}", plain)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _push(service: ServiceProcess, urls: Path, options: PushOptions) -> PushSummary:
    credentials = load_credentials(profile=service.profile_path, env={})
    async with HttpSource() as http, DecooClient(credentials) as client:
        return await push_remote(RemoteSpec(urls=str(urls)), options, RemoteSources(None, http),
                                 client=client)


async def test_urls_with_and_without_length_or_validators_are_pinned_once(
    service: ServiceProcess, server: str, tmp_path: Path
) -> None:
    lines = ["# a URL list", f"{server}/files/empty.bin", f"{server}/files/small.txt  greeting"]
    expected = {f"{server}/files/empty.bin": CONTENT["empty.bin"],
                f"{server}/files/small.txt": CONTENT["small.txt"]}
    for way in ("files", "chunked", "plain"):
        for name in ("edge.bin", "big.bin"):
            url = f"{server}/{way}/{name}"
            lines.append(f"{url} {way}-{name}")
            expected[url] = CONTENT[name]
    lines.append(f"{server}/files/missing.bin")
    urls = tmp_path / "urls.txt"
    urls.write_text("\n".join(lines) + "\n")
    out = tmp_path / "m.jsonl"
    options = PushOptions(journal=tmp_path / "j", manifest=out, small_file=64 * 1024,
                          poll_interval=POLL_INTERVAL)

    summary = await _push(service, urls, options)
    rows = {str(r["path"]): r for r in manifest(out) if r["kind"] == "file"}
    for url, data in expected.items():
        assert rows[url]["status"] == "pinned", rows[url]
        assert rows[url]["cid"] == hash_bytes(data).cid, url
        assert rows[url]["size"] == len(data), url
    assert rows[f"{server}/files/missing.bin"]["status"] == "failed"
    assert summary.exit_status == 1
    names = set(pinned_cids(service).values())
    assert {"greeting", "empty.bin"} <= names
    stats = service.stats()
    assert stats["duplicate_jobs"] == 0
    received = stats["bytes_received"]

    # Unchanged URLs are not sent again: by validators where the server gives
    # them, else hashed and found on the account.
    await _push(service, urls, options)
    assert service.stats()["bytes_received"] == received


async def test_a_url_body_cut_part_way_is_resumed_with_range(
    service: ServiceProcess, server: str, tmp_path: Path
) -> None:
    with ChaosProxy(server) as proxy:
        # Every answer is cut after 1 MiB: the file is read in resumed pieces.
        proxy.set_fault(Fault("cut", at=MIB))
        urls = tmp_path / "urls.txt"
        urls.write_text(f"{proxy.url}/files/big.bin\n")
        out = tmp_path / "m.jsonl"
        summary = await _push(service, urls, PushOptions(journal=tmp_path / "j", manifest=out,
                                                           poll_interval=POLL_INTERVAL))
    assert summary.exit_status == 0, summary.reason
    [row] = [r for r in manifest(out) if r["kind"] == "file"]
    assert row["cid"] == hash_bytes(CONTENT["big.bin"]).cid
    assert proxy.stats.connections["cut"] >= 4
    assert hash_bytes(CONTENT["big.bin"]).cid in pinned_cids(service)
