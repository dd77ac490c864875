"""The HTTP URL source against an aiohttp server on loopback: lengths, ranges, broken bodies."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bulkpin.client.retry import RetryPolicy
from bulkpin.sources.http import BadLine, HttpObject, HttpSource, UrlEntry, read_url_list
from bulkpin.sources.remote_errors import (
    LocationError,
    ObjectChanged,
    ObjectDenied,
    ObjectNotFound,
    SourceUnavailable,
)
from bulkpin.unixfs import FileBuilder, hash_bytes

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024
READ = 64 * 1024
LAST_MODIFIED = "Tue, 01 Sep 2026 10:00:00 GMT"


@pytest.fixture(autouse=True)
def _own_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing here reads HOME, but nothing may touch the real one either."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "home" / var.lower()))


# -- the URL list --


def test_url_list_entries_names_comments_and_bad_lines() -> None:
    text = io.StringIO(
        "# archive export\n"
        "https://example.org/a.bin\n"
        "\n"
        "   http://example.org:8080/b%20c.bin   my file.bin  \n"
        "https://example.org/t\ttabbed name\n"
        "ftp://example.org/c.bin\n"
        "not a url\n"
        "https:///nohost\n"
        "http://example.org:99999/bad-port\n"
        "  # indented comment\n"
    )
    entries = list(read_url_list(text))
    assert entries[:3] == [
        UrlEntry("https://example.org/a.bin", None, 2),
        UrlEntry("http://example.org:8080/b%20c.bin", "my file.bin", 4),
        UrlEntry("https://example.org/t", "tabbed name", 5),
    ]
    bad = entries[3:]
    assert all(isinstance(b, BadLine) for b in bad)
    assert [(b.line, b.reason) for b in bad if isinstance(b, BadLine)] == [
        (6, "not an http:// or https:// URL"),
        (7, "not an http:// or https:// URL"),
        (8, "no host in the URL"),
        (9, "not a URL (Port out of range 0-65535)"),
    ]
    assert str(bad[0]).startswith("line 6: ")


# -- a file server with switchable behaviour --


@dataclass
class Files:
    """What the test server serves, and what it saw."""

    content: dict[str, bytes] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    failures: dict[str, int] = field(default_factory=dict)
    #: Called when a body has just been cut (to change the file before the resume).
    on_drop: Callable[[str], None] | None = None
    #: (name, Range, If-Range) of every request.
    seen: list[tuple[str, str | None, str | None]] = field(default_factory=list)


FILES = web.AppKey("files", Files)


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


async def _serve(request: web.Request) -> web.StreamResponse:
    """``/f/NAME`` with query switches: ``cl=0`` (chunked), ``ranges=0``, ``etag=0``,
    ``drop=N`` (cut the connection after N body bytes, once per file), ``fail=K``
    (the first K requests get 503), ``status=S`` (always answer S)."""
    files = request.app[FILES]
    name = request.match_info["name"]
    query = request.query
    files.seen.append((name, request.headers.get("Range"), request.headers.get("If-Range")))
    if "status" in query:
        return web.Response(status=int(query["status"]), text="no")
    if files.failures.get(name, 0) < int(query.get("fail", 0)):
        files.failures[name] = files.failures.get(name, 0) + 1
        return web.Response(status=503, text="busy")
    data = files.content[name]
    etag = _etag(data)
    ranges = query.get("ranges") != "0"
    headers = {"Last-Modified": LAST_MODIFIED}
    if query.get("etag") != "0":
        headers["ETag"] = etag
    if ranges:
        headers["Accept-Ranges"] = "bytes"
    start, status = 0, 200
    wanted, if_range = request.headers.get("Range"), request.headers.get("If-Range")
    if ranges and wanted and if_range in (None, etag, LAST_MODIFIED):
        start, status = int(wanted.removeprefix("bytes=").rstrip("-")), 206
        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    body = data[start:]
    response = web.StreamResponse(status=status, headers=headers)
    if query.get("cl") == "0":
        response.enable_chunked_encoding()
    else:
        response.content_length = len(body)
    await response.prepare(request)
    drop = int(query.get("drop", -1))
    if drop >= 0 and name not in files.dropped:
        files.dropped.add(name)
        await response.write(body[:drop])
        if files.on_drop is not None:
            files.on_drop(name)
        assert request.transport is not None
        request.transport.close()
        return response
    await response.write(body)
    await response.write_eof()
    return response


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Files]]:
    files = Files()
    app = web.Application()
    app[FILES] = files
    app.router.add_get("/f/{name}", _serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/f", files
    finally:
        await runner.cleanup()


async def _no_wait(_: float) -> None:
    """Backoff sleeps take no time in tests."""


@pytest.fixture
async def source() -> AsyncIterator[HttpSource]:
    async with HttpSource(retry=RetryPolicy(sleep=_no_wait)) as src:
        yield src


async def _fetch(source: HttpSource, url: str) -> tuple[bytes, str, HttpObject, int]:
    builder = FileBuilder()
    data = bytearray()
    async with source.open_url(url) as reader:
        while chunk := await reader.read(READ):
            builder.update(chunk)
            data += chunk
        obj = reader.object
        assert isinstance(obj, HttpObject)
        return bytes(data), builder.finish().cid, obj, reader.resumes


# -- reading --


@pytest.mark.parametrize("size", [0, 1, 262143, 262144, 262145, 3 * MIB + 5])
@pytest.mark.parametrize("length", ["cl", "chunked"])
async def test_bytes_and_cid_with_and_without_content_length(
    server: tuple[str, Files], source: HttpSource, size: int, length: str
) -> None:
    base, files = server
    files.content["x"] = data = os.urandom(size)
    query = "?cl=0" if length == "chunked" else ""
    got, cid, obj, resumes = await _fetch(source, f"{base}/x{query}")
    assert got == data
    assert cid == hash_bytes(data).cid
    assert obj.size == (None if length == "chunked" else size)
    assert obj.etag == _etag(data)
    assert obj.last_modified == LAST_MODIFIED
    assert obj.accepts_ranges
    assert resumes == 0


async def test_a_url_entry_keeps_its_name(server: tuple[str, Files], source: HttpSource) -> None:
    base, files = server
    files.content["n"] = b"named"
    async with source.open_url(UrlEntry(f"{base}/n?ranges=0", "report.pdf", 3)) as reader:
        assert await reader.read(100) == b"named"
        assert isinstance(reader.object, HttpObject)
        assert reader.object.name == "report.pdf"
        assert not reader.object.accepts_ranges


@pytest.mark.parametrize("length", ["cl", "chunked"])
@pytest.mark.parametrize("validator", ["etag", "last-modified"])
async def test_a_body_dropped_once_resumes_with_range(
    server: tuple[str, Files], source: HttpSource, length: str, validator: str
) -> None:
    base, files = server
    files.content["big"] = data = os.urandom(2 * MIB + 3)
    query = f"?drop={MIB}" + ("&cl=0" if length == "chunked" else "")
    query += "&etag=0" if validator == "last-modified" else ""
    got, cid, _, resumes = await _fetch(source, f"{base}/big{query}")
    assert got == data
    assert cid == hash_bytes(data).cid
    assert resumes == 1
    (_, first_range, _), (_, resume_range, if_range) = files.seen
    assert first_range is None
    assert resume_range is not None
    offset = int(resume_range.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= MIB
    assert if_range == (_etag(data) if validator == "etag" else LAST_MODIFIED)


async def test_a_body_dropped_without_range_support_is_not_resumable(
    server: tuple[str, Files], source: HttpSource
) -> None:
    base, files = server
    files.content["big"] = os.urandom(2 * MIB)
    with pytest.raises(SourceUnavailable, match="does not accept byte ranges") as caught:
        await _fetch(source, f"{base}/big?ranges=0&drop={MIB}")
    assert caught.value.resumable is False
    assert len(files.seen) == 1


async def test_a_file_changed_before_the_resume_is_refused(
    server: tuple[str, Files], source: HttpSource
) -> None:
    base, files = server
    files.content["big"] = os.urandom(2 * MIB)

    def change(name: str) -> None:
        files.content[name] = os.urandom(2 * MIB)

    files.on_drop = change
    with pytest.raises(ObjectChanged, match="changed while it was read"):
        await _fetch(source, f"{base}/big?drop={MIB}")


async def test_busy_answers_are_retried(server: tuple[str, Files], source: HttpSource) -> None:
    base, files = server
    files.content["b"] = data = b"after two 503s"
    got, _, _, _ = await _fetch(source, f"{base}/b?fail=2")
    assert got == data
    assert len(files.seen) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, ObjectNotFound), (410, ObjectNotFound), (403, ObjectDenied)],
)
async def test_refusals_become_object_errors(
    server: tuple[str, Files], source: HttpSource, status: int, error: type[Exception]
) -> None:
    base, files = server
    with pytest.raises(error):
        await _fetch(source, f"{base}/gone?status={status}")
    assert len(files.seen) == 1  # a refusal is not retried


async def test_an_unusable_url_is_a_location_error(source: HttpSource) -> None:
    with pytest.raises(LocationError, match="not an http"):
        await _fetch(source, "file:///etc/passwd")


async def test_streaming_writes_nothing_to_disk(
    server: tuple[str, Files], source: HttpSource
) -> None:
    base, files = server
    files.content["big"] = data = os.urandom(4 * MIB)
    before = _write_bytes()
    builder = FileBuilder()
    async with source.open_url(f"{base}/big") as reader:
        while chunk := await reader.read(READ):
            builder.update(chunk)
    after = _write_bytes()
    assert builder.finish().cid == hash_bytes(data).cid
    assert after == before


def _write_bytes() -> int:
    with open("/proc/self/io") as proc:
        fields = dict(line.split(": ") for line in proc.read().splitlines())
    return int(fields["write_bytes"])
