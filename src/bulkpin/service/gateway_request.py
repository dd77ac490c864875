"""What a ``GET /ipfs/{cid}`` asks for: the answer's form and the CAR's shape.

The trustless gateway spec's negotiation: ``?format=`` wins over ``Accept``;
``car`` and ``raw`` are served, the path form (the file's bytes) when neither
is asked for. Formats the spec knows but this gateway does not make
(``tar``, ``dag-json``, ``ipns-record``...) are 406; values that are not a
format or parameter at all are 400. CAR parameters come from the query
(``dag-scope``, ``car-version``, ``car-order``, ``car-dups``) or the ``Accept``
type's own (``version``, ``order``, ``dups``), the query first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import BadRequest, NotAcceptable

__all__ = ["CAR_TYPE", "RAW_TYPE", "GatewayAsk", "negotiate"]

CAR_TYPE = "application/vnd.ipld.car"
RAW_TYPE = "application/vnd.ipld.raw"
Form = Literal["path", "car", "raw"]
Scope = Literal["all", "entity", "block"]
_SCOPES: tuple[Scope, ...] = ("all", "entity", "block")
#: ``format`` values of the path gateway spec that are not served here.
_OTHER_FORMATS = frozenset({"tar", "dag-json", "dag-cbor", "json", "cbor", "ipns-record"})
#: Media types of those formats (and any other IPLD or IPFS type): 406 when only they are asked.
_OTHER_PREFIXES = ("application/vnd.ipld.", "application/vnd.ipfs.", "application/x-tar")


@dataclass(frozen=True, slots=True)
class GatewayAsk:
    """The answer a request wants."""

    form: Form
    scope: Scope = "all"
    #: CAR ``dups=y``: repeated blocks sent again each time.
    dups: bool = False


def _media_types(accept: str) -> list[tuple[str, dict[str, str]]]:
    """``Accept``'s media types with their parameters, those with ``q=0`` left out."""
    out = []
    for item in accept.split(","):
        kind, *params = (p.strip() for p in item.split(";"))
        values = {}
        for param in params:
            name, _, value = param.partition("=")
            values[name.strip().lower()] = value.strip().strip('"').lower()
        if kind and values.get("q") not in ("0", "0.0", "0.00", "0.000"):
            out.append((kind.lower(), values))
    return out


def _choose(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise BadRequest(f"{what}: expected one of {', '.join(allowed)}, not {value[:40]!r}")
    return value


def _car_ask(query: Mapping[str, str], params: Mapping[str, str]) -> GatewayAsk:
    if "entity-bytes" in query:
        raise BadRequest("entity-bytes is not supported here: ask for dag-scope=all")
    version = query.get("car-version", params.get("version", "1"))
    if not version.isdigit():
        raise BadRequest(f"car-version: not a version: {version[:40]!r}")
    if version != "1":
        raise NotAcceptable(f"CAR version {version} is not served (only 1)")
    # Blocks always go out depth first, which "unk" (any order) allows.
    _choose(query.get("car-order", params.get("order")), ("dfs", "unk"), "car-order")
    dups = _choose(query.get("car-dups", params.get("dups")), ("y", "n"), "car-dups")
    return GatewayAsk("car", _scope(query), dups == "y")


def _scope(query: Mapping[str, str]) -> Scope:
    value = query.get("dag-scope", "all")
    for scope in _SCOPES:
        if value == scope:
            return scope
    raise BadRequest(f"dag-scope: expected all, entity or block, not {value[:40]!r}")


def negotiate(query: Mapping[str, str], accept: str) -> GatewayAsk:
    """The form and shape asked for (400 or 406 as :mod:`this module <.gateway_request>` says)."""
    fmt = query.get("format")
    _scope(query)  # a bad dag-scope is a bad request whatever the form
    if fmt:
        if fmt == "car":
            types = dict(_media_types(accept))
            return _car_ask(query, types.get(CAR_TYPE, {}))
        if fmt == "raw":
            return GatewayAsk("raw")
        if fmt in _OTHER_FORMATS:
            raise NotAcceptable(f"format={fmt} is not served: car, raw or the file's bytes")
        raise BadRequest(f"format: not a format: {fmt[:40]!r}")
    refused = False
    for kind, params in _media_types(accept):
        if kind == CAR_TYPE:
            try:
                return _car_ask(query, params)
            except NotAcceptable:
                refused = True  # another type in the list may still do
        elif kind == RAW_TYPE:
            return GatewayAsk("raw")
        elif kind.startswith(_OTHER_PREFIXES):
            refused = True
        else:
            return GatewayAsk("path")
    if refused:
        raise NotAcceptable("only CAR v1, raw blocks or the file's bytes are served")
    return GatewayAsk("path")
