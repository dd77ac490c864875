"""``GET /ipfs/{cid}``: the service as an IPFS HTTP gateway for the content it stores.

The path form only: the answer is the file's bytes, which a fetcher verifies
by hashing them into the CID (see :mod:`.fetcher`), so one local service can
be "the IPFS network" for another. No auth, as on a public gateway; HEAD and
``Range`` come with aiohttp's file answer. The trustless forms (CAR and raw
blocks) are refused with 406, so a client asking for them knows to fall back.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from .errors import NotAcceptable, NotFound
from .params import parse_cid
from .state import STATE

__all__ = ["routes"]

routes = web.RouteTableDef()

#: Response formats of the trustless gateway spec, which this gateway does not serve.
_TRUSTLESS = ("application/vnd.ipld.car", "application/vnd.ipld.raw")
#: Content never changes under its CID.
_IMMUTABLE = "public, max-age=29030400, immutable"


@routes.get("/ipfs/{cid}", name="ipfs")
async def ipfs(request: web.Request) -> web.StreamResponse:
    """The bytes of a stored file, whole or a ``Range`` of them."""
    state = request.app[STATE]
    cid = parse_cid(request.match_info["cid"])
    fmt = request.query.get("format")
    accept = request.headers.get("Accept", "")
    if (fmt is not None and fmt != "") or any(t in accept for t in _TRUSTLESS):
        raise NotAcceptable(
            "only the path form (the file's bytes) is served, not CAR or raw blocks"
        )
    path = state.blobs.path_for(cid)
    size = await asyncio.get_running_loop().run_in_executor(None, state.blobs.size, cid)
    if size is None:
        raise NotFound(f"{cid} is not stored here")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/octet-stream",
            "Cache-Control": _IMMUTABLE,
            "X-Ipfs-Path": f"/ipfs/{cid}",
        },
    )
