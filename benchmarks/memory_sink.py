"""A Decoo-compatible sink that costs the client's benchmarks as little CPU as it can.

``bulkpin serve`` verifies every upload (it hashes the bytes, checks the
signature, writes a blob and a row): on a machine of two cores it takes one of
them from the client being measured. This answers the routes a push uses from
memory and checks nothing: ``pinFile`` reads the body and keeps its ``cid``;
every job is pinned at once; ``pinList``/``pinJobs`` page what it holds.

``python -m benchmarks.memory_sink WORKDIR``: writes ``WORKDIR/profile.toml``
(a fresh RSA key; any API key), prints ``ready URL`` and serves until killed.
"""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_DATE = "2026-01-01T00:00:00Z"


class _Sink:
    def __init__(self) -> None:
        self.url = ""
        #: CID -> size, in the order received (the job id is the position).
        self.pins: dict[str, int] = {}

    async def endpoints(self, request: web.Request) -> web.Response:
        return web.json_response([{"id": 1, "name": "sink", "apiHost": self.url}])

    async def token(self, request: web.Request) -> web.Response:
        return web.json_response({"Data": "sink-token"})

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({"Success": True})

    async def pin_file(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        size, cid = 0, ""
        async for part in reader:
            if part.name == "file":  # type: ignore[union-attr]
                while chunk := await part.read_chunk(1 << 16):  # type: ignore[union-attr]
                    size += len(chunk)
            elif part.name == "cid":  # type: ignore[union-attr]
                cid = (await part.text()).strip()  # type: ignore[union-attr]
            else:
                await part.release()  # type: ignore[union-attr]
        self.pins.setdefault(cid, size)
        return web.json_response({"PinHash": cid, "PinSize": size, "PinDate": _DATE})

    def _page(self, request: web.Request) -> tuple[list[tuple[int, str, int]], int]:
        query = request.query
        rows = [(i, cid, size) for i, (cid, size) in enumerate(self.pins.items())]
        if "pin-hash" in query:
            rows = [r for r in rows if r[1] == query["pin-hash"]]
        if query.get("status") not in (None, "pinned"):
            rows = []
        if query.get("sort", "DESC") == "DESC":
            rows.reverse()
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 5)), 1000)
        return rows[offset:offset + limit], len(rows)

    async def jobs(self, request: web.Request) -> web.Response:
        page, count = self._page(request)
        return web.json_response({"Count": count, "Jobs": [
            {"Id": str(i), "Status": "pinned", "PinHash": cid} for i, cid, _ in page]})

    async def pin_list(self, request: web.Request) -> web.Response:
        page, count = self._page(request)
        return web.json_response({"Count": count, "Pins": [
            {"Id": str(i), "PinHash": cid, "PinSize": size, "PinDate": _DATE,
             "Metadata": {}} for i, cid, size in page]})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"pins": len(self.pins)})


def _profile(workdir: Path, url: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path = workdir / "profile.toml"
    path.write_text(f'cloud_url = "{url}"\napi_key = "sink-key"\n'
                    f'private_key = "{base64.b64encode(der).decode()}"\n')
    path.chmod(0o600)
    return path


async def _serve(workdir: Path) -> Any:
    sink = _Sink()
    app = web.Application(client_max_size=1 << 40)
    app.add_routes([
        web.get("/ping", sink.ping), web.get("/endpoint/list", sink.endpoints),
        web.get("/oauth/accessToken", sink.token), web.post("/pinning/pinFile", sink.pin_file),
        web.get("/pinning/pinJobs", sink.jobs), web.get("/pinning/pinList", sink.pin_list),
        web.get("/_sink/stats", sink.stats),
    ])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sink.url = f"http://127.0.0.1:{port}"
    _profile(workdir, sink.url)
    print(f"ready {sink.url} {datetime.now(UTC).isoformat()}", flush=True)
    return runner


def main() -> None:
    import asyncio  # noqa: PLC0415

    workdir = Path(sys.argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_serve(workdir))
    loop.run_forever()


if __name__ == "__main__":
    main()
