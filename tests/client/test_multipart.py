"""The streaming multipart body: exact length, part order, both CID modes, changes caught.

The body is produced into an in-memory writer and parsed back with the
standard library's MIME parser; sending it over HTTP is tested against
``bulkpin serve`` in test_client_service.py.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import os
from pathlib import Path

import pytest
from aiohttp.abc import AbstractStreamWriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkpin.client import FileChangedError, LocalFileError, ReadReport
from bulkpin.client import multipart as multipart_module
from bulkpin.client.multipart import (
    FileContent,
    MultipartUpload,
    UploadBody,
    cid_text_length,
    secret_text_length,
)
from bulkpin.signing import generate_private_key, sign_cid, verify_secret
from bulkpin.unixfs import (
    UNIXFS_V0_2015,
    UNIXFS_V1_2025,
    CidProfile,
    Link,
    get_profile,
    hash_bytes,
    hash_file,
)
from bulkpin.unixfs.file_builder import leaf_links

KEY = generate_private_key()
SECRET_LENGTH = secret_text_length(1024)


class Collector(AbstractStreamWriter):
    """Keeps what the body writes; ``on_write`` runs after each write."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.on_write: list[object] = []
        self.writes = 0

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self.data += chunk
        self.writes += 1
        for hook in self.on_write:
            hook(self.writes)  # type: ignore[operator]

    async def write_eof(self, chunk: bytes = b"") -> None:
        self.data += chunk

    async def drain(self) -> None:
        pass

    def enable_compression(self, encoding: str = "deflate", strategy: int | None = None) -> None:
        raise NotImplementedError

    def enable_chunking(self) -> None:
        raise NotImplementedError

    async def write_headers(self, status_line: str, headers: object) -> None:
        raise NotImplementedError


def content(path: Path) -> bytes:
    return path.read_bytes()


def rewrite(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def read_whole(path: Path) -> FileContent:
    st = path.stat()
    return FileContent(path.read_bytes(), st.st_mtime_ns, st.st_ino)


def remove(path: Path) -> None:
    path.unlink()


def sign(cid: str) -> str:
    return sign_cid(KEY, cid)


def parse(body: UploadBody, data: bytes) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, content) of each part, in order."""
    head = f"Content-Type: {body.content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + data)
    parts = []
    for part in message.iter_parts():
        disposition = part.get("Content-Disposition", "")
        name = disposition.split('name="', 1)[1].split('"', 1)[0]
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((name, part.get_filename(), payload))
    return parts


async def produce(
    upload: MultipartUpload, writer: Collector | None = None
) -> tuple[UploadBody, bytes]:
    writer = writer or Collector()
    body = await upload.open()
    try:
        await body.write(writer)
    finally:
        await body.aclose()
    return body, bytes(writer.data)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / 'report "final".bin'
    path.write_bytes(os.urandom(700_000))
    return path


@pytest.mark.anyio
@pytest.mark.parametrize("known", [True, False], ids=["cid-known", "cid-streamed"])
async def test_exact_length_and_part_order(sample: Path, known: bool) -> None:
    cid = hash_file(sample).cid
    upload = MultipartUpload(
        sample, sign=sign, secret_length=SECRET_LENGTH, cid=cid if known else None, chunk_size=65536
    )
    body, data = await produce(upload)
    assert body.size == len(data)
    assert body.complete
    assert body.cid == cid
    parts = parse(body, data)
    assert [name for name, _, _ in parts] == ["file", "cid", "secret"]
    assert parts[0][1] == "report %22final%22.bin"
    assert parts[0][2] == content(sample)
    assert parts[1][2] == cid.encode()
    assert verify_secret(KEY.public_key(), cid, parts[2][2].decode())


@pytest.mark.anyio
async def test_non_default_profile_says_so_in_metadata(sample: Path) -> None:
    upload = MultipartUpload(
        sample, sign=sign, secret_length=SECRET_LENGTH, name="My File ✓", profile=UNIXFS_V1_2025
    )
    body, data = await produce(upload)
    parts = parse(body, data)
    assert [name for name, _, _ in parts] == ["file", "decooMetadata", "cid", "secret"]
    assert json.loads(parts[1][2]) == {"name": "My File ✓", "cidProfile": "unixfs-v1-2025"}
    assert parts[2][2].decode() == hash_file(sample, UNIXFS_V1_2025).cid
    assert body.size == len(data)


def test_fixed_lengths() -> None:
    assert cid_text_length(UNIXFS_V0_2015) == 46
    assert cid_text_length(UNIXFS_V1_2025) == 59
    assert secret_text_length(1024) == 172
    assert secret_text_length(2048) == 344
    assert len(sign("Qm" + "x" * 44)) == 172


@pytest.mark.anyio
async def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    upload = MultipartUpload(empty, sign=sign, secret_length=SECRET_LENGTH)
    body, data = await produce(upload)
    assert body.size == len(data)
    assert parse(body, data)[0][2] == b""
    assert body.cid == hash_file(empty).cid


@pytest.mark.anyio
async def test_progress_counts_file_bytes_and_rewinds(sample: Path) -> None:
    deltas: list[int] = []
    upload = MultipartUpload(
        sample,
        sign=sign,
        secret_length=SECRET_LENGTH,
        chunk_size=100_000,
        on_progress=deltas.append,
    )
    body, _ = await produce(upload)
    assert sum(deltas) == 700_000
    assert max(deltas) == 100_000
    body.rewind_progress()
    assert deltas[-1] == -700_000
    assert sum(deltas) == 0


@pytest.mark.anyio
async def test_growing_file_is_caught_before_the_cid_is_sent(sample: Path) -> None:
    upload = MultipartUpload(sample, sign=sign, secret_length=SECRET_LENGTH, chunk_size=100_000)
    writer = Collector()

    def grow(writes: int) -> None:
        if writes == 2:
            with sample.open("ab") as f:
                f.write(b"more")

    writer.on_write.append(grow)
    with pytest.raises(FileChangedError, match="changed while it was read"):
        await produce(upload, writer)
    assert b'name="cid"' not in writer.data


@pytest.mark.anyio
async def test_shrinking_file_is_caught(sample: Path) -> None:
    upload = MultipartUpload(sample, sign=sign, secret_length=SECRET_LENGTH, chunk_size=100_000)
    writer = Collector()

    def shrink(writes: int) -> None:
        if writes == 2:
            os.truncate(sample, 150_000)

    writer.on_write.append(shrink)
    with pytest.raises(FileChangedError, match="shrank"):
        await produce(upload, writer)


@pytest.mark.anyio
async def test_file_changed_between_attempts(sample: Path) -> None:
    upload = MultipartUpload(sample, sign=sign, secret_length=SECRET_LENGTH)
    await produce(upload)
    rewrite(sample, b"different")
    with pytest.raises(FileChangedError, match="previous attempt"):
        await upload.open()


@pytest.mark.anyio
async def test_verify_hook_sees_the_read_and_can_abort(sample: Path) -> None:
    reports: list[ReadReport] = []
    upload = MultipartUpload(sample, sign=sign, secret_length=SECRET_LENGTH, verify=reports.append)
    await produce(upload)
    st = os.stat(sample)
    assert [(r.size, r.mtime_ns, r.inode, r.cid, r.attempt) for r in reports] == [
        (st.st_size, st.st_mtime_ns, st.st_ino, hash_file(sample).cid, 1)
    ]

    def refuse(report: ReadReport) -> None:
        raise FileChangedError("journal says otherwise")

    upload = MultipartUpload(sample, sign=sign, secret_length=SECRET_LENGTH, verify=refuse)
    writer = Collector()
    with pytest.raises(FileChangedError, match="journal"):
        await produce(upload, writer)
    assert b'name="cid"' not in writer.data


@pytest.mark.anyio
async def test_unreadable_things_are_local_errors(tmp_path: Path) -> None:
    with pytest.raises(LocalFileError, match="cannot open"):
        await MultipartUpload(tmp_path / "missing", sign=sign, secret_length=SECRET_LENGTH).open()
    with pytest.raises(LocalFileError, match="not a regular file"):
        await MultipartUpload(tmp_path, sign=sign, secret_length=SECRET_LENGTH).open()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(LocalFileError, match="not a regular file"):
        await MultipartUpload(fifo, sign=sign, secret_length=SECRET_LENGTH).open()


@pytest.mark.anyio
@pytest.mark.parametrize("known", [True, False], ids=["cid-known", "cid-computed"])
async def test_content_read_by_the_caller_is_sent_from_memory(
    sample: Path, known: bool
) -> None:
    given = read_whole(sample)
    data = given.data
    cid = hash_file(sample).cid
    reports: list[ReadReport] = []
    upload = MultipartUpload(
        sample, sign=sign, secret_length=SECRET_LENGTH, cid=cid if known else None,
        chunk_size=64 * 1024, content=given, verify=reports.append,
    )
    # What was read is what is sent, even once the file on disk is gone.
    remove(sample)
    body, sent = await produce(upload)
    assert body.complete
    assert body.sent == len(data)
    assert len(sent) == body.size
    parts = parse(body, sent)
    assert [p[0] for p in parts] == ["file", "cid", "secret"]
    assert parts[0][2] == data
    assert parts[1][2].decode() == cid
    assert upload.known_cid == cid
    assert [(r.size, r.mtime_ns, r.inode, r.cid) for r in reports] == [
        (len(data), given.mtime_ns, given.inode, cid)
    ]


# -- the streaming hash spread over several threads --

# Small chunks and links, so the parallel path crosses chunk, piece and
# layout boundaries on files of a few KiB.
SMALL = get_profile("unixfs-v0-2015", chunk_size=64, max_links=3)
SMALL_RAW = get_profile("unixfs-v1-2025", chunk_size=64, max_links=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.one_of(
        st.sampled_from([0, 1, 63, 64, 65, 191, 192, 193, 575, 576, 577]),
        st.integers(min_value=0, max_value=64 * 40),
    ),
    raw=st.booleans(),
    piece_chunks=st.integers(min_value=1, max_value=4),
    workers=st.integers(min_value=1, max_value=4),
)
def test_streamed_cid_does_not_depend_on_hash_workers(
    tmp_path_factory: pytest.TempPathFactory, size: int, raw: bool, piece_chunks: int, workers: int
) -> None:
    profile = SMALL_RAW if raw else SMALL
    data = os.urandom(size)
    path = tmp_path_factory.mktemp("streamed") / "f.bin"
    path.write_bytes(data)
    upload = MultipartUpload(
        path, sign=sign, secret_length=SECRET_LENGTH, profile=profile,
        chunk_size=64 * piece_chunks, hash_workers=workers,
    )
    body, sent = asyncio.run(produce(upload))
    expected = hash_bytes(data, profile).cid
    assert body.cid == expected
    parts = parse(body, sent)
    assert parts[0][2] == data
    assert parts[-2][2] == expected.encode()


@pytest.mark.anyio
@pytest.mark.parametrize("profile", [UNIXFS_V0_2015, UNIXFS_V1_2025], ids=lambda p: p.name)
@pytest.mark.parametrize("extra", [-1, 0, 1])
async def test_parallel_streamed_cid_at_real_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: CidProfile, extra: int
) -> None:
    hashed: list[int] = []

    def counting(p: CidProfile, data: memoryview) -> list[Link]:
        hashed.append(len(data))
        return leaf_links(p, data)

    monkeypatch.setattr(multipart_module, "leaf_links", counting)
    path = tmp_path / "f.bin"
    size = 3 * profile.chunk_size + extra
    path.write_bytes(os.urandom(size))
    upload = MultipartUpload(
        path, sign=sign, secret_length=SECRET_LENGTH, profile=profile,
        chunk_size=profile.chunk_size, hash_workers=2,
    )
    body, _ = await produce(upload)
    assert body.cid == hash_file(path, profile).cid
    # Every whole chunk went through the parallel path, none through update().
    assert sum(hashed) == size - size % profile.chunk_size


@pytest.mark.anyio
@pytest.mark.parametrize("left", [3 * 262144 + 10, 8 * 262144 - 10], ids=["middle", "last-piece"])
async def test_shrinking_file_is_caught_with_reads_in_flight(tmp_path: Path, left: int) -> None:
    # Shrunk to the middle, later reads come back empty; shrunk within its last
    # piece, only that piece comes back short, and nothing else would notice.
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(8 * 262144))
    upload = MultipartUpload(
        path, sign=sign, secret_length=SECRET_LENGTH, chunk_size=262144, hash_workers=3
    )
    writer = Collector()

    def shrink(writes: int) -> None:
        if writes == 2:
            os.truncate(path, left)

    writer.on_write.append(shrink)
    with pytest.raises(FileChangedError, match="shrank"):
        await produce(upload, writer)
    assert b'name="cid"' not in writer.data


def test_hash_workers_must_be_positive(sample: Path) -> None:
    with pytest.raises(ValueError, match="hash_workers"):
        MultipartUpload(sample, sign=sign, secret_length=SECRET_LENGTH, hash_workers=0)
