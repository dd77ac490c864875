"""A full disk: 507 saying so, nothing pinned, no temporary file left, and the service
goes on once there is room again.

The disk cannot be filled for real here (no mount rights in CI), so the service
runs in this process with the blob store's one write function failing with
ENOSPC; everything else, the HTTP included, is real.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
from pathlib import Path

import pytest

from bulkpin.service import blobs
from bulkpin.service.config import ServiceConfig
from bulkpin.service.errors import no_space
from bulkpin.service.server import LocalService
from bulkpin.service.upload import STAGE
from tests.unixfs.content import content

from .helpers import Account, Reply, cid_of, get, multipart, request, upload_parts


class Disk:
    """Whether the blob store's writes fail as on a full disk."""

    def __init__(self) -> None:
        self.full = False
        self._write = blobs._write_all

    def write(self, fd: int, view: memoryview) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._write(fd, view)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    disk = Disk()
    monkeypatch.setattr(blobs, "_write_all", disk.write)
    return disk


def _pin(svc: LocalService, data: bytes) -> Reply:
    account = Account.load(svc.profile_path)
    token = get(svc.cloud_url + "/oauth/accessToken", account).json()["Data"]
    body, ctype = multipart(upload_parts(data, account))
    return request("POST", svc.endpoint_urls[0] + "/pinning/pinFile",
                   headers={"UserAccessToken": token, "Content-Type": ctype}, body=body)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1000, 2 * STAGE + 3])  # held in memory; streamed to disk
async def test_a_full_disk_is_507_and_nothing_is_pinned(
    disk: Disk, tmp_path: Path, size: int
) -> None:
    data = content(f"full {size}", size)
    async with LocalService(ServiceConfig(data_dir=tmp_path / "data")) as svc:
        disk.full = True
        reply = await asyncio.to_thread(_pin, svc, data)
        assert reply.status == 507, reply.body
        assert reply.json() == {
            "Code": 507,
            "Message": "the service has no space left to store this upload; it was not pinned",
        }
        assert _files(svc.data_dir) == []  # no blob, no temporary file
        account = Account.load(svc.profile_path)
        pins = await asyncio.to_thread(get, svc.cloud_url + "/pinning/pinList", account)
        assert pins.json()["Count"] == 0
        # Room again: the same upload goes through.
        disk.full = False
        again = await asyncio.to_thread(_pin, svc, data)
        assert again.status == 200, again.body
        cid = cid_of(data)
        assert (svc.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data


def test_a_full_database_counts_as_a_full_disk() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x BLOB)")
    conn.execute("PRAGMA max_page_count = 4")  # SQLite's own way to be full
    rows = [(bytes(4096),)] * 100  # far more than four pages hold
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.executemany("INSERT INTO t VALUES (?)", rows)
    assert no_space(caught.value)
    assert not no_space(sqlite3.OperationalError("no such table: t"))
    assert not no_space(OSError(errno.EIO, "Input/output error"))
    assert no_space(OSError(errno.EDQUOT, "Disk quota exceeded"))
