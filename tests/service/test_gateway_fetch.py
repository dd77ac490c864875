"""--gateway: a service pins content fetched from another over loopback, checked by hashing.

Services run in-process (LocalService) next to an aiohttp server playing a
lying gateway, all on this test's event loop; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bulkpin.service import LocalService, ServiceConfig, parse_faults
from bulkpin.signing import load_private_key, sign_cid
from bulkpin.unixfs import hash_file
from tests.support.gateway import ipfs_server

from .helpers import Account as ProfileAccount
from .helpers import cid_of, multipart, upload_parts

_gateway = ipfs_server

pytestmark = pytest.mark.anyio

#: Gives up on overall progress, not a timing assertion: every wait normally ends
#: in well under a second.
_PATIENCE = 30.0


def _config(data_dir: Path, **kwargs: Any) -> ServiceConfig:
    return ServiceConfig(data_dir=data_dir, job_delay=0.05, **kwargs)


def _api_key(svc: LocalService) -> str:
    key = tomllib.loads(svc.profile_path.read_text())["api_key"]
    assert isinstance(key, str)
    return key


async def _psa(session: aiohttp.ClientSession, svc: LocalService, method: str, path: str,
               **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {_api_key(svc)}"}
    async with session.request(method, f"{svc.cloud_url}/psa{path}", headers=headers,
                               **kwargs) as response:
        return response.status, await response.json()


async def _upload(session: aiohttp.ClientSession, svc: LocalService, data: bytes) -> str:
    account = ProfileAccount.load(svc.profile_path)
    async with session.get(f"{svc.cloud_url}/oauth/accessToken",
                           headers=account.cloud_headers()) as response:
        token = (await response.json())["Data"]
    body, ctype = multipart(upload_parts(data, account))
    async with session.post(f"{svc.endpoint_urls[0]}/pinning/pinFile", data=body,
                            headers={"UserAccessToken": token, "Content-Type": ctype}) as response:
        assert response.status == 200, await response.text()
        cid = (await response.json())["PinHash"]
    assert isinstance(cid, str)
    return cid


async def _settled(session: aiohttp.ClientSession, svc: LocalService, requestid: str,
                   ) -> dict[str, Any]:
    """The pin's status once it is pinned or failed."""
    async with asyncio.timeout(_PATIENCE):
        while True:
            status, body = await _psa(session, svc, "GET", f"/pins/{requestid}")
            assert status == 200, body
            if body["status"] in ("pinned", "failed"):
                assert isinstance(body, dict)
                return body
            await asyncio.sleep(0.02)


async def _pin(session: aiohttp.ClientSession, svc: LocalService, cid: str) -> dict[str, Any]:
    status, body = await _psa(session, svc, "POST", "/pins", json={"cid": cid, "name": "got"})
    assert status == 202, body
    return await _settled(session, svc, body["requestid"])


def _lying_gateway(payload: bytes) -> AbstractAsyncContextManager[str]:
    """A gateway answering every /ipfs/{cid} with ``payload``, whatever the CID."""

    async def lie(request: web.Request) -> web.Response:
        return web.Response(body=payload, content_type="application/octet-stream")

    return _gateway(lie)


async def test_a_service_pins_what_its_gateway_holds(tmp_path: Path) -> None:
    # Over one 4 MiB fetch stage and not a whole number of chunks.
    data = os.urandom((5 << 20) + 12345)
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s")) as source,
    ):
        cid = await _upload(session, source, data)
        async with LocalService(_config(tmp_path / "d", gateways=(source.cloud_url,))) as dest:
            pinned = await _pin(session, dest, cid)
            assert pinned["status"] == "pinned", pinned
            assert pinned["info"] == {}
            # Stored under the CID with exactly the bytes that hash to it.
            stored = dest.data_dir / "blobs" / cid[-2:] / cid
            assert stored.read_bytes() == data
            assert hash_file(stored).cid == cid
            # ...and listed in the account's pins, and served on to others.
            status, listing = await _psa(session, dest, "GET", "/pins")
            assert status == 200
            assert [r["pin"]["cid"] for r in listing["results"]] == [cid]
            async with session.get(f"{dest.cloud_url}/ipfs/{cid}") as response:
                assert await response.read() == data


async def test_pin_by_hash_fetches_too(tmp_path: Path) -> None:
    data = b"small file for pinByHash"
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s")) as source,
    ):
        cid = await _upload(session, source, data)
        async with LocalService(_config(tmp_path / "d", gateways=(source.cloud_url,))) as dest:
            profile = tomllib.loads(dest.profile_path.read_text())
            account = ProfileAccount.load(dest.profile_path)
            async with session.get(f"{dest.cloud_url}/oauth/accessToken",
                                   headers=account.cloud_headers()) as response:
                token = (await response.json())["Data"]
            secret = sign_cid(load_private_key(profile["private_key"]), cid)
            async with session.post(
                f"{dest.endpoint_urls[0]}/pinning/pinByHash",
                json={"hashToPin": cid, "secret": secret, "decooMetadata": {"name": "n"}},
                headers={"UserAccessToken": token},
            ) as response:
                assert response.status == 200
                job = (await response.json())["JobId"]
            pinned = await _settled(session, dest, job)
            assert pinned["status"] == "pinned"
            assert pinned["pin"]["name"] == "n"


async def test_wrong_bytes_are_refused(tmp_path: Path) -> None:
    data = b"the real content"
    cid = cid_of(data)
    async with (
        aiohttp.ClientSession() as session,
        _lying_gateway(b"something else entirely") as liar,
        LocalService(_config(tmp_path / "d", gateways=(liar,), fetch_timeout=0.5)) as dest,
    ):
        failed = await _pin(session, dest, cid)
        assert failed["status"] == "failed"
        details = failed["info"]["status_details"]
        assert liar in details
        assert f"not to {cid}" in details
        assert not (dest.data_dir / "blobs" / cid[-2:] / cid).exists()
        async with session.get(f"{dest.cloud_url}/ipfs/{cid}") as response:
            assert response.status == 404


async def test_an_honest_gateway_after_a_liar_is_used(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    async with (
        aiohttp.ClientSession() as session,
        _lying_gateway(data[:-1]) as liar,
        LocalService(_config(tmp_path / "s")) as source,
    ):
        cid = await _upload(session, source, data)
        gateways = (liar, source.cloud_url)
        async with LocalService(_config(tmp_path / "d", gateways=gateways)) as dest:
            pinned = await _pin(session, dest, cid)
            assert pinned["status"] == "pinned", pinned
            assert (dest.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data


async def test_content_no_gateway_has_fails_after_the_fetch_timeout(tmp_path: Path) -> None:
    cid = cid_of(b"nobody has this")
    async with _lying_gateway(b"") as gone:
        pass  # closed: nothing listens on its port any more
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s")) as source,
        LocalService(_config(tmp_path / "d", gateways=(gone, source.cloud_url),
                             fetch_timeout=0.3)) as dest,
    ):
        failed = await _pin(session, dest, cid)
        assert failed["status"] == "failed"
        details = failed["info"]["status_details"]
        assert f"{source.cloud_url}: HTTP 404" in details
        assert f"{gone}: " in details  # could not connect, said so, went on


async def test_faults_on_the_source_gateway_are_reported(tmp_path: Path) -> None:
    data = b"behind a failing gateway"
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s", faults=parse_faults("ipfs:503=1"))) as source,
    ):
        cid = await _upload(session, source, data)
        async with LocalService(_config(tmp_path / "d", gateways=(source.cloud_url,),
                                        fetch_timeout=0.3)) as dest:
            failed = await _pin(session, dest, cid)
            assert failed["status"] == "failed"
            assert "HTTP 503" in failed["info"]["status_details"]


async def test_a_v1_cid_is_verified_with_the_v1_profile(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    cid = cid_of(data, "unixfs-v1-2025")
    async with (
        aiohttp.ClientSession() as session,
        _lying_gateway(data) as honest,  # "lying" about nothing: it has these bytes
        LocalService(_config(tmp_path / "d", gateways=(honest,))) as dest,
    ):
        pinned = await _pin(session, dest, cid)
        assert pinned["status"] == "pinned", pinned


def _slow_gateway(contents: dict[str, bytes], delay: float) -> AbstractAsyncContextManager[str]:
    """A gateway holding ``contents`` (by CID) that takes ``delay`` seconds per answer."""

    async def serve(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        data = contents.get(request.match_info["cid"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    return _gateway(serve)


async def test_a_burst_waits_its_turn_without_losing_the_fetch_timeout(tmp_path: Path) -> None:
    # 40 CIDs, fetched FETCHES (4) at a time at 0.3 s each: the last start about
    # 3 s after they were all queued. --fetch-timeout 2 s counts from each CID's
    # own first fetch, so all pin; counted from the job's creation (as before),
    # the later ones failed without a gateway ever being asked for them.
    contents = {cid_of(i.to_bytes(4, "big") * 8): i.to_bytes(4, "big") * 8 for i in range(40)}
    async with (
        aiohttp.ClientSession() as session,
        _slow_gateway(contents, 0.3) as gateway,
        LocalService(_config(tmp_path / "d", gateways=(gateway,), fetch_timeout=2.0)) as dest,
    ):
        ids = []
        for cid in contents:
            status, body = await _psa(session, dest, "POST", "/pins", json={"cid": cid})
            assert status == 202, body
            ids.append(body["requestid"])
        settled = [await _settled(session, dest, requestid) for requestid in ids]
    assert [s["status"] for s in settled] == ["pinned"] * len(contents)


async def test_jobs_left_searching_time_out_after_a_restart_without_gateways(
    tmp_path: Path,
) -> None:
    # A job queued while the service had a gateway waits for the fetcher to start
    # its clock; restarted without --gateway, nothing would, so the start does.
    cid = cid_of(b"asked for, never found")
    async with (
        aiohttp.ClientSession() as session,
        _slow_gateway({}, 60.0) as gateway,  # never answers while this service runs
    ):
        async with LocalService(_config(tmp_path / "d", gateways=(gateway,))) as dest:
            status, body = await _psa(session, dest, "POST", "/pins", json={"cid": cid})
            assert status == 202, body
        async with LocalService(_config(tmp_path / "d", fetch_timeout=0.3)) as dest:
            failed = await _settled(session, dest, body["requestid"])
    assert failed["status"] == "failed"
