"""The file part sent with ``sendfile(2)``: same bytes and CID as the copying path, changes caught.

Over real loopback HTTP: an aiohttp server keeps each request's raw body, and
the body is posted by an aiohttp client session, whose plain-TCP transport is
what lets the upload hand the file to the kernel. Under TLS, and where the
loop cannot sendfile, the same body goes through aiohttp's writer instead.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from bulkpin.client import FileChangedError
from bulkpin.client.multipart import ZERO_COPY_STAGE, MultipartUpload, UploadBody
from bulkpin.unixfs import UNIXFS_V0_2015, UNIXFS_V1_2025, CidProfile, hash_file
from tests.sources.loopback import serve

from .test_multipart import SECRET_LENGTH, parse, sign

pytestmark = pytest.mark.anyio

CHUNK = 256 * 1024  # the client's read chunk in these tests: one v0 leaf


class Received:
    """What the server was sent: each complete body, and how many were cut off."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.cut = 0

    async def handle(self, request: web.Request) -> web.Response:
        try:
            self.bodies.append(await request.read())
        except (aiohttp.ClientPayloadError, ConnectionError):
            self.cut += 1
            raise
        return web.json_response({"ok": True})


@pytest.fixture
async def received() -> AsyncIterator[tuple[Received, str]]:
    got = Received()
    app = web.Application(client_max_size=1 << 30)
    app.router.add_post("/pinning/pinFile", got.handle)
    async with serve(app) as url:
        yield got, url


async def post(
    url: str, upload: MultipartUpload, ssl_context: ssl.SSLContext | bool = True
) -> UploadBody:
    body = await upload.open()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/pinning/pinFile", data=body, ssl=ssl_context) as r,
        ):
            assert r.status == 200
    finally:
        await body.aclose()
    return body


def _upload(path: Path, **kwargs: object) -> MultipartUpload:
    return MultipartUpload(
        path, sign=sign, secret_length=SECRET_LENGTH, chunk_size=CHUNK, **kwargs  # type: ignore[arg-type]
    )


# Sizes at every boundary the zero-copy path has: a leaf, a stage, the stages
# a second hash worker takes, and the stage in which the file ends.
SIZES = [
    0,
    1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    ZERO_COPY_STAGE - 1,
    ZERO_COPY_STAGE,
    ZERO_COPY_STAGE + 1,
    2 * ZERO_COPY_STAGE + CHUNK + 7,
    5 * ZERO_COPY_STAGE,
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("profile", [UNIXFS_V0_2015, UNIXFS_V1_2025], ids=lambda p: p.name)
async def test_sendfile_sends_the_file_and_its_cid(
    received: tuple[Received, str], tmp_path: Path, size: int, workers: int, profile: CidProfile
) -> None:
    got, url = received
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    progress: list[int] = []
    upload = _upload(path, profile=profile, hash_workers=workers, on_progress=progress.append)
    body = await post(url, upload)
    expected = hash_file(path, profile).cid
    parts = parse(body, got.bodies[-1])
    assert parts[0][2] == data
    assert ("cid", None, expected.encode()) in parts
    assert body.cid == upload.computed_cid == expected
    assert body.complete
    assert body.sent == sum(progress) == size
    # Every file byte went by sendfile: nothing fell back to the copying path.
    assert body.sent_by_sendfile == size


async def test_known_cid_is_sent_without_reading(
    received: tuple[Received, str], tmp_path: Path
) -> None:
    got, url = received
    data = os.urandom(3 * ZERO_COPY_STAGE + 5)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    cid = hash_file(path).cid
    body = await post(url, _upload(path, cid=cid))
    parts = parse(body, got.bodies[-1])
    assert parts[0][2] == data
    assert ("cid", None, cid.encode()) in parts
    assert body.sent_by_sendfile == len(data)


@pytest.mark.parametrize("left", [ZERO_COPY_STAGE // 2, 3 * ZERO_COPY_STAGE + 10])
async def test_shrinking_file_is_caught(
    received: tuple[Received, str], tmp_path: Path, left: int
) -> None:
    got, url = received
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(4 * ZERO_COPY_STAGE))

    def shrink(n: int) -> None:
        if n > 0:
            os.truncate(path, left)

    upload = _upload(path, hash_workers=2, on_progress=shrink)
    body = await upload.open()
    try:
        with pytest.raises(aiohttp.ClientError):
            async with aiohttp.ClientSession() as session:
                await session.post(f"{url}/pinning/pinFile", data=body)
    finally:
        await body.aclose()
    assert isinstance(body.error, FileChangedError)
    assert not body.complete
    assert got.bodies == []  # abandoned before the cid part: nothing pinned


async def test_file_rewritten_in_place_is_caught(
    received: tuple[Received, str], tmp_path: Path
) -> None:
    # Same size, other bytes: what the kernel sent may not be what was hashed,
    # and the fstat after the last byte is what says so.
    got, url = received
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(4 * ZERO_COPY_STAGE))
    st = path.stat()

    def rewrite(n: int) -> None:
        if n > 0:
            with path.open("r+b") as f:
                f.seek(-CHUNK, os.SEEK_END)
                f.write(os.urandom(CHUNK))
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    upload = _upload(path, on_progress=rewrite)
    body = await upload.open()
    try:
        with pytest.raises(aiohttp.ClientError):
            async with aiohttp.ClientSession() as session:
                await session.post(f"{url}/pinning/pinFile", data=body)
    finally:
        await body.aclose()
    assert isinstance(body.error, FileChangedError)
    assert "changed while it was read" in str(body.error)
    assert got.bodies == []


async def test_loop_without_sendfile_falls_back_to_the_copy(
    received: tuple[Received, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvloop, say: the first call says so, and every byte then goes through aiohttp.
    got, url = received
    data = os.urandom(3 * ZERO_COPY_STAGE + 99)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    calls: list[int] = []

    async def no_sendfile(*args: object, **kwargs: object) -> int:
        calls.append(1)
        raise NotImplementedError

    monkeypatch.setattr(asyncio.get_running_loop(), "sendfile", no_sendfile)
    for cid in (None, hash_file(path).cid):
        body = await post(url, _upload(path, cid=cid, hash_workers=2))
        parts = parse(body, got.bodies[-1])
        assert parts[0][2] == data
        assert ("cid", None, hash_file(path).cid.encode()) in parts
        assert body.sent == len(data)
        assert body.sent_by_sendfile == 0
    assert len(calls) == 2  # once per body: then it knows


async def test_tls_sends_through_the_writer(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    got = Received()
    app = web.Application(client_max_size=1 << 30)
    app.router.add_post("/pinning/pinFile", got.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await site.start()
    try:
        port = runner.addresses[0][1]
        data = os.urandom(2 * ZERO_COPY_STAGE + 3)
        path = tmp_path / "f.bin"
        path.write_bytes(data)
        body = await post(f"https://127.0.0.1:{port}", _upload(path), client_tls)
    finally:
        await runner.cleanup()
    parts = parse(body, got.bodies[-1])
    assert parts[0][2] == data
    assert ("cid", None, hash_file(path).cid.encode()) in parts
    assert body.sent == len(data)
    assert body.sent_by_sendfile == 0


async def test_shrinking_file_is_caught_on_the_fallback_with_the_cid_known(
    received: tuple[Received, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing is hashed, so the fallback reads each stage itself: the last
    # stage read short (still longer than a read chunk) is the file shrinking,
    # said as it is read, not a body that ends early.
    got, url = received
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(3 * ZERO_COPY_STAGE))
    cid = hash_file(path).cid

    async def no_sendfile(*args: object, **kwargs: object) -> int:
        raise NotImplementedError

    def shrink(n: int) -> None:
        if n > 0:
            os.truncate(path, 2 * ZERO_COPY_STAGE + ZERO_COPY_STAGE // 2)

    monkeypatch.setattr(asyncio.get_running_loop(), "sendfile", no_sendfile)
    body = await _upload(path, cid=cid, on_progress=shrink).open()
    try:
        with pytest.raises(aiohttp.ClientError):
            async with aiohttp.ClientSession() as session:
                await session.post(f"{url}/pinning/pinFile", data=body)
    finally:
        await body.aclose()
    assert isinstance(body.error, FileChangedError)
    assert "shrank" in str(body.error)
    assert got.bodies == []
