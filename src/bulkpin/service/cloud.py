"""The Cloud routes: account, endpoint list, access tokens, job and pin listings,
and the loopback-only ``/_admin/stats``."""

from __future__ import annotations

import dataclasses
import ipaddress

from aiohttp import web

from .db import JOB_STATUSES, Database
from .errors import BadRequest, Forbidden, json_response
from .params import (
    format_date,
    parse_cid,
    parse_date,
    parse_limit,
    parse_offset,
    parse_sort,
)
from .state import STATE

routes = web.RouteTableDef()


@routes.get("/ping", name="ping")
async def ping(request: web.Request) -> web.Response:
    """``{"Success": true}`` for a valid API key."""
    await request.app[STATE].cloud_caller(request)
    return json_response({"Success": True})


@routes.get("/endpoint/list", name="endpointList")
async def endpoint_list(request: web.Request) -> web.Response:
    """The Endpoints, named "Local 1", "Local 2"... with their URLs."""
    state = request.app[STATE]
    await state.cloud_caller(request)
    return json_response(
        [{"id": i, "name": f"Local {i}", "apiHost": url}
         for i, url in enumerate(state.endpoint_urls, start=1)]
    )


@routes.get("/oauth/accessToken", name="accessToken")
async def access_token(request: web.Request) -> web.Response:
    """A new access token in ``Data``."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    return json_response({"Data": state.auth.access_token(account)})


@routes.get("/pinning/pinJobs", name="pinJobs")
async def pin_jobs(request: web.Request) -> web.Response:
    """The caller's jobs, filtered by ``pin-hash`` and ``status``, sorted and paged."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    q = request.query
    cid = parse_cid(q["pin-hash"], "pin-hash") if "pin-hash" in q else None
    status = q.get("status")
    if status is not None and status not in JOB_STATUSES:
        raise BadRequest(f"status: expected one of {', '.join(JOB_STATUSES)}")
    count, rows = await state.db.run(
        Database.list_jobs, account.id, cid=cid, status=status,
        descending=parse_sort(q.get("sort")), offset=parse_offset(q.get("offset")),
        limit=parse_limit(q.get("limit")),
    )
    jobs = [{"Id": r.uid, "Status": r.status, "PinHash": r.cid} for r in rows]
    return json_response({"Count": count, "Jobs": jobs})


@routes.get("/pinning/pinList", name="pinList")
async def pin_list(request: web.Request) -> web.Response:
    """The caller's pins between ``start-date`` and ``end-date``, sorted and paged."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    q = request.query
    count, rows = await state.db.run(
        Database.list_pins, account.id,
        start_ms=parse_date(q.get("start-date"), "start-date"),
        end_ms=parse_date(q.get("end-date"), "end-date"),
        descending=parse_sort(q.get("sort")), offset=parse_offset(q.get("offset")),
        limit=parse_limit(q.get("limit")),
    )
    return json_response({
        "Count": count,
        "Pins": [
            {"Id": r.uid, "PinHash": r.cid, "PinSize": r.size,
             "PinDate": format_date(r.created_ms), "Metadata": {"name": r.name}}
            for r in rows
        ],
    })


def _is_loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


@routes.get("/_admin/stats", name="adminStats")
async def admin_stats(request: web.Request) -> web.Response:
    """Request, byte, pin and job counts; loopback callers only."""
    if not _is_loopback(request.remote):
        raise Forbidden("/_admin is only served to loopback clients")
    state = request.app[STATE]
    db_stats = await state.db.run(Database.stats)
    connections = {name: dataclasses.asdict(counts) for name, counts in state.connections.items()}
    return json_response({
        **state.stats.snapshot(db_stats), "upload_stages": state.stage_budget.snapshot(),
        "connections": connections,
    })
