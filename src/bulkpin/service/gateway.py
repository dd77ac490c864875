"""``GET``/``HEAD /ipfs/{cid}``: the service as an IPFS trustless gateway for what it stores.

Three forms (:mod:`.gateway_request` decides which a request wants):

- ``application/vnd.ipld.car`` (``?format=car``): a CAR v1 with roots
  ``[cid]`` and the DAG's blocks depth first, ``dag-scope=all|entity``
  (the whole file) or ``block`` (the root only), ``dups=n`` unless asked;
- ``application/vnd.ipld.raw`` (``?format=raw``): one block's bytes;
- otherwise the path form, the file's bytes (``Range`` included).

Blocks are rebuilt from the stored file by the CID engine (:mod:`.dag`): a
CAR streams one block at a time, leaves read from the blob as they go. A
raw or CAR request may name a stored file's root or any block of a DAG
rebuilt since the service started (:class:`~.dag.DagCache`); other CIDs are 404,
as on a gateway that does not hold them. ``--gateway-faults`` applies here
(:mod:`.gateway_faults`). No auth, as on a public gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from aiohttp import web

from ..car import CarWriter
from ..unixfs import PROFILES, CidProfile, ProfileError, get_profile
from ..unixfs.node import IDENTITY, cid_from_str, parse_cid
from ..unixfs.profiles import profile_for_cid
from .dag import FileDag
from .db import Database
from .errors import NotFound
from .gateway_faults import corrupted
from .gateway_request import CAR_TYPE, RAW_TYPE, GatewayAsk, negotiate
from .params import parse_cid as parse_cid_param
from .state import STATE, ServiceState

__all__ = ["routes"]

routes = web.RouteTableDef()

#: Content never changes under its CID.
_IMMUTABLE = "public, max-age=29030400, immutable"
#: How often a stalled answer looks whether its client is still there.
_STALL_POLL = 0.2

log = logging.getLogger("bulkpin.service")


def pinned_profiles(db: Database, cid: str) -> list[str]:
    """The ``cidProfile`` names jobs for ``cid`` were made with."""
    rows = db.connection.execute(
        "SELECT DISTINCT json_extract(meta, '$.cidProfile') FROM jobs "
        "WHERE cid = ? AND meta IS NOT NULL",
        (cid,),
    ).fetchall()
    return [name for (name,) in rows if isinstance(name, str)]


async def _profiles(state: ServiceState, cid: str) -> list[CidProfile]:
    """Profiles to rebuild ``cid``'s DAG with, the likeliest first."""
    out: list[CidProfile] = []
    for name in await state.db.run(pinned_profiles, cid):
        try:
            out.append(get_profile(name))
        except ProfileError:
            continue
    out.append(profile_for_cid(cid))
    out.extend(PROFILES.values())
    return list(dict.fromkeys(out))


async def _dag_of(state: ServiceState, cid: bytes, text: str) -> FileDag | None:
    """A DAG holding block ``cid``: a stored file's (rebuilt if need be) or a cached one."""
    found = state.dags.find(cid)
    if found is not None:
        return found
    loop = asyncio.get_running_loop()
    if await loop.run_in_executor(None, state.blobs.size, text) is None:
        return None
    return await state.dags.get(
        cid, state.blobs.path_for(text), await _profiles(state, text), state.hashers
    )


async def _block(state: ServiceState, dag: FileDag, cid: bytes, index: int | None) -> bytes:
    """One block's bytes, as the faults would have them."""
    if index is None:
        block = dag.nodes[cid]
    else:
        block = await asyncio.get_running_loop().run_in_executor(None, dag.leaf_block, index)
    return corrupted(block) if state.gateway_faults.hits("corrupt", cid) else block


def _headers(text: str, etag: str, content_type: str, suffix: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Cache-Control": _IMMUTABLE,
        "Etag": etag,
        "X-Ipfs-Path": f"/ipfs/{text}",
        "X-Ipfs-Roots": text,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'attachment; filename="{text}.{suffix}"',
        "Vary": "Accept",
    }


async def _stall(request: web.Request) -> None:
    """Hold the answer open until the client goes, then end the handler.

    aiohttp no longer cancels a handler whose client left, so the stall
    watches the connection itself rather than waiting forever.
    """
    # aiohttp gives no event for a client leaving: look now and then.
    while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
        await asyncio.sleep(_STALL_POLL)
    raise ConnectionResetError("the client left a stalled answer")


def _scoped(dag: FileDag, cid: bytes, ask: GatewayAsk) -> Iterator[tuple[bytes, int | None]]:
    walk = dag.dfs(dups=ask.dups, start=cid)
    if ask.scope == "block":
        yield next(walk)
        return
    # "entity" of a file is the whole file, which is all a stored DAG holds.
    yield from walk


async def _car(request: web.Request, state: ServiceState, cid: bytes, text: str,
               ask: GatewayAsk) -> web.StreamResponse:
    faults = state.gateway_faults
    dag = await _dag_of(state, cid, text)
    if dag is None or faults.hits("missing", cid):
        raise NotFound(f"{text} is not stored here")
    dups = "y" if ask.dups else "n"
    response = web.StreamResponse(headers=_headers(
        text, f'"{text}.car.{ask.scope}.dups-{dups}"',
        f"{CAR_TYPE}; version=1; order=dfs; dups={dups}", "car",
    ))
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    writer = CarWriter(response.write)
    stall = faults.hits("stall", cid)
    try:
        await writer.header([cid])
        for block_cid, index in _scoped(dag, cid, ask):
            if faults.hits("missing", block_cid):
                continue
            await writer.block(block_cid, await _block(state, dag, block_cid, index))
            if stall:
                await _stall(request)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client left: nobody to answer
    except OSError:
        # The 200 is sent: the CAR ends short, which clients must detect (the spec).
        log.exception("reading %s for its CAR", text)
    return response


async def _raw(request: web.Request, state: ServiceState, cid: bytes, text: str
               ) -> web.StreamResponse:
    faults = state.gateway_faults
    parts = parse_cid(cid)
    if parts.hash_code == IDENTITY:
        block = parts.digest  # the block is inside its CID
    else:
        dag = await _dag_of(state, cid, text)
        if dag is None or faults.hits("missing", cid):
            raise NotFound(f"block {text} is not held here")
        block = await _block(state, dag, cid, None if cid in dag.nodes else dag.leaves[cid])
    response = web.StreamResponse(headers=_headers(text, f'"{text}.raw"', RAW_TYPE, "bin"))
    response.content_length = len(block)
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    try:
        if faults.hits("stall", cid):
            await response.write(block[: len(block) // 2])
            await _stall(request)
        await response.write(block)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client left
    return response


@routes.get("/ipfs/{cid}", name="ipfs")
async def ipfs(request: web.Request) -> web.StreamResponse:
    """A stored file as a CAR, one of its blocks, or its bytes (HEAD too)."""
    state = request.app[STATE]
    text = parse_cid_param(request.match_info["cid"])
    cid = cid_from_str(text)
    ask = negotiate(request.query, request.headers.get("Accept", ""))
    if state.gateway_faults.hits("notfound", cid):
        raise NotFound(f"{text} is not stored here")
    if ask.form == "car":
        return await _car(request, state, cid, text, ask)
    if ask.form == "raw":
        return await _raw(request, state, cid, text)
    size = await asyncio.get_running_loop().run_in_executor(None, state.blobs.size, text)
    if size is None:
        raise NotFound(f"{text} is not stored here")
    if state.gateway_faults.hits("stall", cid):
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            await _stall(request)
        return response
    return web.FileResponse(
        state.blobs.path_for(text),
        headers={
            "Content-Type": "application/octet-stream",
            "Cache-Control": _IMMUTABLE,
            "Etag": f'"{text}"',
            "X-Ipfs-Path": f"/ipfs/{text}",
            "X-Content-Type-Options": "nosniff",
        },
    )
