"""Every route of the contract, over real loopback HTTP against ``bulkpin serve``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from bulkpin.client import (
    DecooClient,
    DecooError,
    FileChangedError,
    FileContent,
    JobStatus,
    PinJob,
    ReadReport,
)
from bulkpin.unixfs import UNIXFS_V1_2025, hash_bytes, hash_file
from tests.support.service import ServiceProcess

from .helpers import make_client, requests

pytestmark = pytest.mark.anyio

MakeFiles = Callable[..., list[Path]]


async def wait_pinned(client: DecooClient, cid: str) -> PinJob:
    """Poll (bounded) until the newest job for ``cid`` is pinned."""
    with anyio.fail_after(20):
        while True:
            page = await client.pin_jobs_page(pin_hash=cid, limit=1)
            if page.jobs and page.jobs[0].status is JobStatus.PINNED:
                return page.jobs[0]
            await anyio.sleep(0.05)


async def test_cloud_routes(service: ServiceProcess) -> None:
    async with make_client(service) as client:
        await client.ping()
        listed = await client.endpoints()
        assert [e.url for e in listed] == [u.rstrip("/") for u in service.endpoint_urls]
        token = await client.access_token()
        assert (await client.access_token()) is token
    stats = service.stats()
    # The ping reached the service, which accepted the key (401 otherwise).
    assert requests(stats, "ping") == requests(stats, "ping", "200") == 1
    assert requests(stats, "endpointList", "200") == 1
    assert requests(stats, "accessToken", "200") == 1


async def test_pin_file_both_modes_and_profiles(service: ServiceProcess, files: MakeFiles) -> None:
    small, big = files(2, size=300_000)
    async with make_client(service) as client:
        streamed = await client.pin_file(small)
        assert streamed.cid == hash_file(small).cid
        assert streamed.size == 300_000
        assert streamed.service_size == 300_000
        assert not streamed.recovered
        assert streamed.endpoint in [u.rstrip("/") for u in service.endpoint_urls]
        known = await client.pin_file(big, cid=hash_file(big).cid, name="named")
        assert known.cid == hash_file(big).cid
        v1 = await client.pin_file(small, profile=UNIXFS_V1_2025)
        assert v1.cid == hash_file(small, UNIXFS_V1_2025).cid
        assert v1.cid.startswith("bafk")
        await wait_pinned(client, known.cid)
        names = {pin.cid: pin.name async for pin in client.pin_list()}
    assert names[known.cid] == "named"
    assert names[streamed.cid] == small.name
    stats = service.stats()
    assert requests(stats, "pinFile", "200") == 3
    assert stats["duplicate_jobs"] == 0


async def test_content_in_memory_survives_a_retry(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    # The first pinFile is reset part-way through its body: the retry must send
    # the same bytes again, from memory, although the file is gone by then.
    service = service_factory("--faults", "pinFile:reset=1.0", "--fault-seed", "1")
    path = tmp_path / "small.bin"
    path.write_bytes(b"in memory " * 5000)
    st = path.stat()
    data = path.read_bytes()
    path.unlink()
    async with make_client(service) as client:
        with pytest.raises(DecooError):
            await client.pin_file(path, content=FileContent(data, st.st_mtime_ns, st.st_ino))
    assert service.stats()["requests"]["pinFile"]["reset"] > 1  # every attempt resent it
    service.stop()
    service = service_factory()
    async with make_client(service) as client:
        result = await client.pin_file(path, content=FileContent(data, st.st_mtime_ns, st.st_ino))
    assert result.cid == hash_bytes(data).cid
    assert result.size == len(data)
    blob = service.data_dir / "blobs" / result.cid[-2:] / result.cid
    assert blob.read_bytes() == data


async def test_empty_file(service: ServiceProcess, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    async with make_client(service) as client:
        result = await client.pin_file(empty)
    assert result.cid == hash_file(empty).cid
    assert result.size == 0


async def test_pin_by_hash(service: ServiceProcess, files: MakeFiles) -> None:
    (path,) = files(1)
    async with make_client(service) as client:
        uploaded = await client.pin_file(path)
        result = await client.pin_by_hash(uploaded.cid, name="again")
        assert result.cid == uploaded.cid
        assert result.status is JobStatus.QUEUED
        assert result.job_id
        job = await wait_pinned(client, uploaded.cid)
        assert job.id == result.job_id
    assert requests(service.stats(), "pinByHash", "200") == 1


async def test_job_and_pin_listing_pages_and_filters(
    service: ServiceProcess, files: MakeFiles
) -> None:
    paths = files(5)
    async with make_client(service) as client:
        cids = []
        for path in paths:
            cids.append((await client.pin_file(path)).cid)
            # Jobs are dated to the millisecond: keep each in its own.
            await anyio.sleep(0.005)
        for cid in cids:
            await wait_pinned(client, cid)
        # Pages of 2 over 5 jobs: three requests, every job once, newest first.
        before = requests(service.stats(), "pinJobs")
        newest_first = [job.cid async for job in client.pin_jobs(page_size=2)]
        assert requests(service.stats(), "pinJobs") - before == 3
        assert newest_first == cids[::-1]
        assert [job.cid async for job in client.pin_jobs(sort="ASC", page_size=2)] == cids
        only = [job async for job in client.pin_jobs(pin_hash=cids[2])]
        assert [job.cid for job in only] == [cids[2]]
        assert len([job async for job in client.pin_jobs(status="pinned")]) == 5
        assert [job async for job in client.pin_jobs(status=JobStatus.FAILED)] == []
        page = await client.pin_jobs_page(limit=1, offset=1)
        assert page.count == 5
        assert [job.cid for job in page.jobs] == [cids[3]]
        # The default page size is the contract's largest: one request for all.
        before = requests(service.stats(), "pinJobs")
        assert len([job async for job in client.pin_jobs()]) == 5
        assert requests(service.stats(), "pinJobs") - before == 1

        pins = [pin async for pin in client.pin_list(page_size=2)]
        assert sorted(pin.cid for pin in pins) == sorted(cids)
        assert all(pin.size == 40_000 and pin.date is not None for pin in pins)
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        yesterday = datetime.now(UTC) - timedelta(days=1)
        assert [pin async for pin in client.pin_list(start_date=tomorrow)] == []
        assert [pin async for pin in client.pin_list(end_date=yesterday)] == []
        window = [pin async for pin in client.pin_list(start_date=yesterday, end_date=tomorrow)]
        assert len(window) == 5
        ascending = [pin.cid async for pin in client.pin_list(sort="asc")]
        assert ascending == cids


async def test_bad_arguments_are_refused_locally(service: ServiceProcess) -> None:
    async with make_client(service) as client:
        with pytest.raises(ValueError, match="sort"):
            await client.pin_jobs_page(sort="sideways")
        with pytest.raises(ValueError, match="limit"):
            await client.pin_jobs_page(limit=1001)
        with pytest.raises(ValueError, match="lost"):
            await client.pin_jobs_page(status="lost")
    assert requests(service.stats(), "pinJobs") == 0


async def test_concurrent_uploads_share_one_token_and_pool(
    service: ServiceProcess, files: MakeFiles
) -> None:
    paths = files(12)
    results: list[Any] = []
    async with make_client(service, concurrency=4) as client:

        async def upload(path: Path) -> None:
            results.append(await client.pin_file(path))

        async with anyio.create_task_group() as tg:
            for path in paths:
                tg.start_soon(upload, path)
    assert sorted(r.cid for r in results) == sorted(hash_file(p).cid for p in paths)
    stats = service.stats()
    assert requests(stats, "accessToken") == 1
    assert requests(stats, "endpointList") == 1
    assert requests(stats, "pinFile", "200") == 12


async def test_progress_adds_up_to_the_size(service: ServiceProcess, files: MakeFiles) -> None:
    (path,) = files(1, size=3_000_000)
    deltas: list[int] = []
    async with make_client(service, chunk_size=256 * 1024) as client:
        await client.pin_file(path, on_progress=deltas.append)
    assert sum(deltas) == 3_000_000
    assert len(deltas) == 12
    assert all(d > 0 for d in deltas)


async def test_abandoned_upload_creates_no_job(service: ServiceProcess, files: MakeFiles) -> None:
    (path,) = files(1, size=2_000_000)

    def refuse(report: ReadReport) -> None:
        raise FileChangedError(f"{report.path} differs from the journal")

    deltas: list[int] = []
    async with make_client(service) as client:
        with pytest.raises(FileChangedError, match="journal"):
            await client.pin_file(path, verify=refuse, on_progress=deltas.append)
        # The client is still usable afterwards.
        await client.ping()
    assert sum(deltas) == 0
    stats = service.stats()
    assert requests(stats, "ping") == requests(stats, "ping", "200") == 1
    assert stats["pins"] == 0
    assert requests(stats, "pinFile", "200") == 0
