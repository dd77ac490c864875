"""``bulkpin serve`` as a trustless gateway: CAR and raw answers for what it stores."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bulkpin.service.gateway_faults import GatewayFaults, corrupted
from bulkpin.unixfs.node import (
    cid_from_str,
    cid_length,
    cid_to_str,
    decode_node,
    make_cid,
    parse_cid,
    read_varint,
)
from bulkpin.verify import Outcome, Retrievable, verify_cid
from tests.support.gateway import file_bytes, gateway_get, read_car, store
from tests.support.service import ServiceProcess

CAR = "application/vnd.ipld.car"
RAW = "application/vnd.ipld.raw"
PROFILES = ("unixfs-v0-2015", "unixfs-v1-2025")


def _data(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_car_holds_the_whole_file_depth_first(service: ServiceProcess, profile: str) -> None:
    data = _data(3 * 1024 * 1024 + 17)
    cid = store(service, data, profile)
    reply = gateway_get(service, cid, "format=car&dag-scope=all")
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"] == f"{CAR}; version=1; order=dfs; dups=n"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in reply.headers["Cache-Control"]
    assert reply.headers["X-Ipfs-Path"] == f"/ipfs/{cid}"
    assert reply.headers["Content-Disposition"] == f'attachment; filename="{cid}.car"'
    assert cid in reply.headers["Etag"]
    header, blocks = read_car(reply.body)
    assert header.roots == (cid_from_str(cid),)
    assert blocks[0].cid == cid_from_str(cid)
    # Depth first: each block is the first not yet seen of the walk from the root.
    order = [b.cid for b in blocks]
    stack, walk = [order[0]], []
    by_cid = {b.cid: b.data for b in blocks}
    while stack:
        top = stack.pop()
        walk.append(top)
        if parse_cid(top).codec == 0x70:
            stack.extend(reversed([link.cid for link in decode_node(by_cid[top]).links]))
    assert order == walk
    assert file_bytes(cid_from_str(cid), by_cid) == data


def test_accept_header_asks_for_a_car_too(service: ServiceProcess) -> None:
    cid = store(service, _data(1000))
    reply = gateway_get(service, cid, accept=f"{CAR}; version=1; order=dfs; dups=y")
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"].endswith("dups=y")
    _, blocks = read_car(reply.body)
    assert [b.cid for b in blocks] == [cid_from_str(cid)]


def test_dups_n_sends_a_repeated_block_once_and_dups_y_each_time(service: ServiceProcess) -> None:
    data = bytes(3 * 256 * 1024)  # three identical leaves
    cid = store(service, data)
    _, once = read_car(gateway_get(service, cid, "format=car").body)
    _, each = read_car(gateway_get(service, cid, "format=car&car-dups=y").body)
    assert len(once) == 2  # root and the one leaf
    assert len(each) == 4
    assert file_bytes(cid_from_str(cid), {b.cid: b.data for b in once}) == data


def test_dag_scope_block_is_the_root_alone_and_entity_the_file(service: ServiceProcess) -> None:
    data = _data(600 * 1024)
    cid = store(service, data)
    _, block = read_car(gateway_get(service, cid, "format=car&dag-scope=block").body)
    _, entity = read_car(gateway_get(service, cid, "format=car&dag-scope=entity").body)
    assert [b.cid for b in block] == [cid_from_str(cid)]
    assert len(entity) == 4  # root and three leaves
    etags = {gateway_get(service, cid, f"format=car&dag-scope={s}").headers["Etag"]
             for s in ("all", "entity", "block")}
    assert len(etags) == 3


@pytest.mark.parametrize("profile", PROFILES)
def test_raw_answers_any_block_of_a_dag_it_rebuilt(service: ServiceProcess, profile: str) -> None:
    data = _data(2 * 1024 * 1024 + 5)
    cid = store(service, data, profile)
    root = gateway_get(service, cid, "format=raw")
    assert root.status == 200, root
    assert root.headers["Content-Type"] == RAW
    assert root.headers["Content-Disposition"] == f'attachment; filename="{cid}.bin"'
    assert make_cid(parse_cid(cid_from_str(cid)).version, 0x70, root.body) == cid_from_str(cid)
    for link in decode_node(root.body).links:
        leaf = gateway_get(service, cid_to_str(link.cid), accept=RAW)
        assert leaf.status == 200, leaf
        assert int(leaf.headers["Content-Length"]) == len(leaf.body)
        version, codec = (1, 0x55) if profile.startswith("unixfs-v1") else (0, 0x70)
        assert make_cid(version, codec, leaf.body) == link.cid


def test_head_answers_headers_without_a_body(service: ServiceProcess) -> None:
    cid = store(service, _data(5000))
    for query in ("format=car", "format=raw", ""):
        reply = gateway_get(service, cid, query, method="HEAD")
        assert reply.status == 200, (query, reply)
        assert reply.body == b""
        assert reply.headers["X-Ipfs-Path"] == f"/ipfs/{cid}"
    missing = cid_to_str(make_cid(0, 0x70, b"not stored"))
    assert gateway_get(service, missing, "format=car", method="HEAD").status == 404


@pytest.mark.parametrize(("query", "accept", "status"), [
    ("format=car&dag-scope=most", None, 400),
    ("format=zip", None, 400),
    ("format=car&car-dups=maybe", None, 400),
    ("format=car&car-version=x", None, 400),
    ("format=car&entity-bytes=0:10", None, 400),
    ("format=tar", None, 406),
    ("format=car&car-version=2", None, 406),
    ("", "application/vnd.ipld.dag-json", 406),
    ("", f"{CAR}; version=2", 406),
])
def test_bad_requests_get_4xx(service: ServiceProcess, query: str, accept: str | None,
                              status: int) -> None:
    cid = store(service, _data(100))
    assert gateway_get(service, cid, query, accept=accept).status == status


def test_a_bad_cid_is_400_and_one_not_held_404(service: ServiceProcess) -> None:
    assert gateway_get(service, "not-a-cid", "format=car").status == 400
    missing = cid_to_str(make_cid(1, 0x55, b"never stored"))
    for query in ("format=car", "format=raw", ""):
        assert gateway_get(service, missing, query).status == 404


def test_faults_leave_out_change_and_hide_blocks(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--gateway-faults", "missing=0.5,corrupt=0.3", "--fault-seed", "7")
    faults = GatewayFaults((("missing", 0.5), ("corrupt", 0.3)), 7)
    data = _data(10 * 1024 * 1024 + 1)
    cid = store(svc, data, "unixfs-v1-2025")
    root = cid_from_str(cid)
    if faults.hits("missing", root) or faults.hits("corrupt", root):
        pytest.fail("seed 7 should leave the root whole; pick another")
    reply = gateway_get(svc, cid, "format=car&dag-scope=block")
    leaves = [link.cid for link in decode_node(read_car(reply.body)[1][0].data).links]
    missing = [c for c in leaves if faults.hits("missing", c)]
    broken = [c for c in leaves if faults.hits("corrupt", c) and c not in missing]
    assert missing
    assert broken
    for leaf in leaves:
        raw = gateway_get(svc, cid_to_str(leaf), "format=raw")
        if leaf in missing:
            assert raw.status == 404
        elif leaf in broken:
            assert make_cid(1, 0x55, corrupted(raw.body)) == leaf  # one byte changed back
        else:
            assert make_cid(1, 0x55, raw.body) == leaf
    body = gateway_get(svc, cid, "format=car").body
    sent = _frames(body)  # the corrupted blocks would stop a checking reader
    assert sent == [root, *(c for c in leaves if c not in missing)]


def _frames(body: bytes) -> list[bytes]:
    """The CIDs of a CAR's sections, their blocks unchecked."""

    length, at = read_varint(body, 0)
    at += length
    cids = []
    while at < len(body):
        length, at = read_varint(body, at)
        n = cid_length(body[at : at + 64])
        cids.append(body[at : at + n])
        at += length
    return cids


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 2_200_000), seed=st.integers(0, 2**32),
       profile=st.sampled_from(PROFILES), repeat=st.booleans())
# Many leaves and repeated ones, under both profiles, whatever hypothesis draws.
@example(size=2_200_000, seed=1, profile=PROFILES[0], repeat=True)
@example(size=2_200_000, seed=2, profile=PROFILES[1], repeat=True)
def test_every_car_reads_back_to_the_file_and_its_cid(
    service: ServiceProcess, size: int, seed: int, profile: str, repeat: bool,
) -> None:
    # Repeated content makes repeated leaves (dups=n leaves them out after the first).
    data = (_data(256 * 1024, seed) * 9)[:size] if repeat else _data(size, seed)
    cid = store(service, data, profile)
    header, blocks = read_car(gateway_get(service, cid, "format=car").body)
    assert header.roots == (cid_from_str(cid),)
    assert len({b.cid for b in blocks}) == len(blocks)
    assert file_bytes(cid_from_str(cid), {b.cid: b.data for b in blocks}) == data
    outcome = asyncio.run(_verify(service.cloud_url, cid, len(data)))
    assert isinstance(outcome, Retrievable), outcome
    assert outcome.blocks == len(blocks)
    assert outcome.size == len(data)


async def _verify(gateway: str, cid: str, size: int) -> Outcome:
    async with aiohttp.ClientSession() as session:
        return await verify_cid(session, gateway, cid, expected_size=size)


def test_a_two_level_dag_reads_back_whole(service: ServiceProcess) -> None:
    # 175 leaves: one more than a v0 node links, so the root links two parents.
    data = _data(174 * 256 * 1024 + 1)
    cid = store(service, data)
    _, blocks = read_car(gateway_get(service, cid, "format=car").body)
    by_cid = {b.cid: b.data for b in blocks}
    assert len(decode_node(by_cid[cid_from_str(cid)]).links) == 2
    assert len(blocks) == 1 + 2 + 175
    assert file_bytes(cid_from_str(cid), by_cid) == data
