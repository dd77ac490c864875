"""--gateway, trustless: CAR first, raw blocks for what it lacks, the path form last; no
redirects off the gateway's origin. Services in-process, gateways real aiohttp servers."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bulkpin.service import LocalService, parse_gateway_faults
from tests.support.gateway import ipfs_server as _gateway

from .test_gateway_fetch import _config, _pin, _upload

pytestmark = pytest.mark.anyio


async def test_a_trustless_only_gateway_is_enough(tmp_path: Path) -> None:
    data = os.urandom((3 << 20) + 99)
    forms: list[str] = []
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s")) as source,
    ):
        cid = await _upload(session, source, data)

        async def trustless_only(request: web.Request) -> web.Response:
            # Forwards CAR and raw requests to the source; the path form is refused.
            fmt = request.query.get("format", "")
            forms.append(fmt)
            if fmt not in ("car", "raw"):
                return web.Response(status=406)
            async with session.get(f"{source.cloud_url}{request.path_qs}",
                                   headers={"Accept": request.headers["Accept"]}) as upstream:
                return web.Response(body=await upstream.read(), status=upstream.status,
                                    content_type=upstream.content_type)

        async with (
            _gateway(trustless_only) as gateway,
            LocalService(_config(tmp_path / "d", gateways=(gateway,))) as dest,
        ):
            pinned = await _pin(session, dest, cid)
            assert pinned["status"] == "pinned", pinned
            assert (dest.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data
    assert forms == ["car"]


async def test_blocks_left_out_of_the_car_come_raw_and_then_from_the_path_form(
    tmp_path: Path,
) -> None:
    # missing=0.5: half the blocks are out of the CAR and 404 as raw blocks, so
    # the fetch turns to the path form, which still verifies the whole file.
    data = os.urandom(5 << 20)
    faults = parse_gateway_faults("missing=0.5")
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s", gateway_faults=faults, fault_seed=3)) as source,
    ):
        cid = await _upload(session, source, data)
        async with LocalService(_config(tmp_path / "d", gateways=(source.cloud_url,))) as dest:
            pinned = await _pin(session, dest, cid)
            assert pinned["status"] == "pinned", pinned
            assert (dest.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data


async def test_a_corrupt_block_refuses_the_gateway(tmp_path: Path) -> None:
    data = os.urandom(2 << 20)
    faults = parse_gateway_faults("corrupt=1")
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s", gateway_faults=faults)) as source,
    ):
        cid = await _upload(session, source, data)
        async with LocalService(_config(tmp_path / "d", gateways=(source.cloud_url,),
                                        fetch_timeout=0.3)) as dest:
            failed = await _pin(session, dest, cid)
            assert failed["status"] == "failed"
            assert "do not match its CID" in failed["info"]["status_details"]
            assert not (dest.data_dir / "blobs" / cid[-2:] / cid).exists()


async def test_redirects_are_followed_within_the_origin_only(tmp_path: Path) -> None:
    data = b"behind a redirect"
    async with (
        aiohttp.ClientSession() as session,
        LocalService(_config(tmp_path / "s")) as source,
    ):
        cid = await _upload(session, source, data)
        elsewhere: list[str] = []

        async def away(request: web.Request) -> web.Response:
            # The source holds the content, but is another origin.
            elsewhere.append(request.path_qs)
            raise web.HTTPFound(f"{source.cloud_url}{request.path_qs}")

        async with (
            _gateway(away) as gateway,
            LocalService(_config(tmp_path / "d", gateways=(gateway,), fetch_timeout=0.3)) as dest,
        ):
            failed = await _pin(session, dest, cid)
        assert failed["status"] == "failed"
        assert "redirect to another origin not followed" in failed["info"]["status_details"]
        assert elsewhere  # the gateway was asked; the source never was, through it

        async def within(request: web.Request) -> web.Response:
            if "moved" not in request.query:
                raise web.HTTPFound(f"{request.path}?moved=1")  # the same origin
            async with session.get(f"{source.cloud_url}/ipfs/{cid}") as upstream:
                return web.Response(body=await upstream.read())

        async with (
            _gateway(within) as gateway,
            LocalService(_config(tmp_path / "e", gateways=(gateway,))) as dest,
        ):
            pinned = await _pin(session, dest, cid)
            assert pinned["status"] == "pinned", pinned
