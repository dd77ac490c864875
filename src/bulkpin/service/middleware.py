"""The request pipeline around every API handler: stats, then faults, then errors.

``stats`` is outermost so it sees what the client saw (a status, or ``reset``
/ ``drop``); ``faults`` sits outside ``errors`` so a ``drop`` or ``garbage``
applies to whatever the handler answered, error answers included.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from .errors import Handler, InjectedError, error_response_for
from .faults import SLOW_SECONDS
from .state import STATE

#: ``request[FAULT]``: the fault drawn for this request, if any.
FAULT = web.RequestKey("fault", str)
#: Routes that never get faults and are not API traffic.
_EXEMPT = frozenset({"adminStats", "unknown"})
#: A ``reset`` reads at most this much of the body before cutting the connection.
_RESET_AFTER = 64 * 1024


def route_name(request: web.Request) -> str:
    """The handler's route name (``pinFile``...), or ``unknown`` for 404/405."""
    route = request.match_info.route
    return route.name or "unknown" if route is not None else "unknown"


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count the request by route and outcome, and the body bytes it carried."""
    state = request.app[STATE]
    status = "error"
    state.stats.reading.add(request.content)
    try:
        response = await handler(request)
        fault = request.get(FAULT)
        status = fault if fault in ("reset", "drop") else str(response.status)
        return response
    finally:
        state.stats.reading.discard(request.content)
        state.stats.record(route_name(request), status, request.content.total_bytes)


def _cut(request: web.Request) -> web.Response:
    """Close the connection without answering.

    aborting the transport makes aiohttp's attempt to write the returned
    response fail quietly (it treats it as a client disconnect).
    """
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=204)


async def _reset(request: web.Request) -> web.Response:
    """Read part of the body (the client is mid-send), then cut the connection."""
    if request.body_exists:
        want = min(_RESET_AFTER, max(1, (request.content_length or 2 * _RESET_AFTER) // 2))
        got = 0
        try:
            async with asyncio.timeout(request.app[STATE].config.idle_timeout):
                while got < want:
                    chunk = await request.content.read(want - got)
                    if not chunk:
                        break
                    got += len(chunk)
        except (TimeoutError, ConnectionError, ValueError, OSError):
            pass  # the connection is cut either way
    return _cut(request)


def _refusal(kind: str, path: str) -> web.Response | None:
    """The answer of a fault that refuses the work, or None for the others."""
    if kind in ("503", "500"):
        return error_response_for(path, int(kind), InjectedError(int(kind)).message)
    if kind == "429":
        return error_response_for(path, 429, InjectedError(429).message, {"Retry-After": "1"})
    return None


@web.middleware
async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the fault ``--faults`` draws for this request, if any."""
    name = route_name(request)
    kind = None if name in _EXEMPT else request.app[STATE].faults.decide(name)
    if kind is None:
        return await handler(request)
    request[FAULT] = kind
    refusal = _refusal(kind, request.path)
    if refusal is not None:
        return refusal
    if kind == "reset":
        return await _reset(request)
    response = await handler(request)
    if kind == "drop":
        return _cut(request)
    if kind == "slow":
        await asyncio.sleep(SLOW_SECONDS)
        return response
    return web.Response(status=200, body=b"<html>\x00\xff not JSON {", content_type="text/html")
