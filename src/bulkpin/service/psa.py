"""The IPFS Pinning Service API under ``/psa`` on the Cloud listener.

Spec: ``ipfs-pinning-service.yaml`` of ipfs/pinning-services-api-spec. The
caller is the account whose API key is in ``Authorization: Bearer`` (as on
Decoo); pins are the account's pin jobs (:mod:`.psa_store`), so a pin added
here shows in ``pinJobs``/``pinList``, and pins made by ``pinFile`` or
``pinByHash`` show here. A new pin is a ``pinByHash`` job: it pins once its
content is in the store, fetched from ``--gateway`` if need be.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from .errors import NotFound, json_response
from .params import format_date, read_json
from .psa_params import PinRequest, parse_filter, parse_pin
from .psa_store import PsaPin, add_pin, get_pin, list_pins, remove_pin, replace_pin
from .state import STATE, ServiceState

__all__ = ["delegate_of", "pin_status", "routes"]

routes = web.RouteTableDef()


def delegate_of(url: str) -> str:
    """The multiaddr of the Cloud at ``url`` (``PinStatus.delegates`` needs one or more).

    There is no libp2p node to dial here; the address names this service's HTTP
    listener, so clients that only display delegates show something true.
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        proto = "ip6" if ipaddress.ip_address(host).version == 6 else "ip4"
    except ValueError:
        proto = "dns"
    return f"/{proto}/{host}/tcp/{port}/{parts.scheme or 'http'}"


def pin_status(pin: PsaPin, delegates: list[str]) -> dict[str, Any]:
    """A ``PinStatus`` object."""
    return {
        "requestid": pin.requestid,
        "status": pin.status,
        "created": format_date(pin.created_ms),
        "pin": {"cid": pin.cid, "name": pin.name, "origins": pin.origins, "meta": pin.meta},
        "delegates": delegates,
        "info": {"status_details": pin.detail} if pin.detail else {},
    }


def _delegates(state: ServiceState) -> list[str]:
    return [delegate_of(state.cloud_url)]


def _requestid(request: web.Request) -> str:
    return request.match_info["requestid"]


def _missing(requestid: str) -> NotFound:
    return NotFound(f"no pin request {requestid[:128]!r} in this account")


def _deadlines(state: ServiceState) -> tuple[int, int, int | None]:
    """(now, when the job is next due, when its search for content gives up), in ms."""
    now_ms = state.now_ms()
    return now_ms, now_ms + state.step_ms, state.search_deadline_ms(now_ms)


def _accepted(state: ServiceState, pin: PsaPin) -> web.Response:
    state.jobs_changed.set()
    state.content_wanted.set()
    return json_response(pin_status(pin, _delegates(state)), status=202)


async def _pin_body(request: web.Request) -> PinRequest:
    return parse_pin(await read_json(request.app[STATE].paced_body(request)))


@routes.get("/psa/pins", name="psaList")
async def psa_list(request: web.Request) -> web.Response:
    """``PinResults``: the account's pins matching the filters, newest first."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    count, pins = await state.db.run(list_pins, account.id, parse_filter(request.query))
    delegates = _delegates(state)
    return json_response({"count": count, "results": [pin_status(p, delegates) for p in pins]})


@routes.post("/psa/pins", name="psaAdd")
async def psa_add(request: web.Request) -> web.Response:
    """202 ``PinStatus``: a queued job pinning ``cid``."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    pin = await _pin_body(request)
    added = await state.db.run(add_pin, account.id, pin, *_deadlines(state))
    return _accepted(state, added)


@routes.get("/psa/pins/{requestid}", name="psaGet")
async def psa_get(request: web.Request) -> web.Response:
    """``PinStatus`` of one pin request."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    requestid = _requestid(request)
    pin = await state.db.run(get_pin, account.id, requestid)
    if pin is None:
        raise _missing(requestid)
    return json_response(pin_status(pin, _delegates(state)))


@routes.post("/psa/pins/{requestid}", name="psaReplace")
async def psa_replace(request: web.Request) -> web.Response:
    """202 ``PinStatus`` of a new pin request; the old one is removed."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    requestid = _requestid(request)
    pin = await _pin_body(request)
    added = await state.db.run(replace_pin, account.id, requestid, pin, *_deadlines(state))
    if added is None:
        raise _missing(requestid)
    return _accepted(state, added)


@routes.delete("/psa/pins/{requestid}", name="psaDelete")
async def psa_delete(request: web.Request) -> web.Response:
    """202, no body: the pin request and the pin it made are gone."""
    state = request.app[STATE]
    account = await state.cloud_caller(request)
    requestid = _requestid(request)
    if not await state.db.run(remove_pin, account.id, requestid):
        raise _missing(requestid)
    return web.Response(status=202)
