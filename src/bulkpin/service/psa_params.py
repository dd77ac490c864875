"""Reading Pinning Service API requests: the ``Pin`` body and the ``GET /pins`` filters.

Every parser raises :class:`~.errors.BadRequest` naming the field or parameter,
so a bad value is a 400 (``BAD_REQUEST``) and never reaches the database.
Limits follow ``ipfs-pinning-service.yaml``: names up to 255 characters, up
to 10 CIDs per filter, 20 origins, 1000 meta entries, ``limit`` 1 to 1000.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast, get_args

from multidict import MultiMapping

from .db import JOB_STATUSES
from .errors import BadRequest
from .params import parse_cid, parse_int

Match = Literal["exact", "iexact", "partial", "ipartial"]
MATCHES: tuple[str, ...] = get_args(Match)
#: ``GET /pins`` pages: the spec's default and maximum.
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
#: The spec's bounds on the ``Pin`` object and the filters.
MAX_NAME_CHARS = 255
MAX_CIDS = 10
MAX_ORIGINS = 20
MAX_META_ENTRIES = 1000
#: Longest multiaddr or meta key/value accepted: generous, but bounded.
_MAX_ITEM_CHARS = 4096
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class PinRequest:
    """A validated ``Pin`` body: what ``POST /pins`` and replace create."""

    cid: str
    name: str | None = None
    origins: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PinFilter:
    """A validated ``GET /pins`` query; times are ms, both bounds exclusive."""

    cids: tuple[str, ...] = ()
    name: str | None = None
    match: Match = "exact"
    statuses: tuple[str, ...] = ("pinned",)
    before_ms: int | None = None
    after_ms: int | None = None
    meta: dict[str, str] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT


def _string(value: Any, what: str, max_chars: int = _MAX_ITEM_CHARS) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what}: expected a string")
    if len(value) > max_chars:
        raise BadRequest(f"{what}: at most {max_chars} characters")
    if "\x00" in value:
        raise BadRequest(f"{what}: contains a NUL character")
    return value


def parse_meta(value: Any, what: str = "meta") -> dict[str, str]:
    """A ``PinMeta``: a JSON object whose values are strings."""
    if not isinstance(value, Mapping):
        raise BadRequest(f"{what}: expected a JSON object of strings")
    if len(value) > MAX_META_ENTRIES:
        raise BadRequest(f"{what}: at most {MAX_META_ENTRIES} entries")
    return {
        _string(k, f"{what} key"): _string(v, f"{what}[{k!r}]") for k, v in value.items()
    }


def parse_pin(body: Any) -> PinRequest:
    """The ``Pin`` object of a ``POST /pins`` (or replace) body."""
    if not isinstance(body, Mapping):
        raise BadRequest("body: expected a Pin JSON object")
    if "cid" not in body:
        raise BadRequest("cid: required")
    cid = parse_cid(_string(body["cid"], "cid"))
    name = body.get("name")
    if name is not None:
        name = _string(name, "name", MAX_NAME_CHARS)
    origins_value = body.get("origins")
    origins: tuple[str, ...] = ()
    if origins_value is not None:
        if not isinstance(origins_value, list):
            raise BadRequest("origins: expected a list of multiaddrs")
        if len(origins_value) > MAX_ORIGINS:
            raise BadRequest(f"origins: at most {MAX_ORIGINS}")
        for i, origin in enumerate(origins_value):
            if not _string(origin, f"origins[{i}]").startswith("/"):
                raise BadRequest(f"origins[{i}]: not a multiaddr (it must start with '/')")
        if len(set(origins_value)) != len(origins_value):
            raise BadRequest("origins: the same multiaddr is given twice")
        origins = tuple(origins_value)
    meta_value = body.get("meta")
    meta = parse_meta(meta_value) if meta_value is not None else {}
    return PinRequest(cid, name, origins, meta)


def _listed(query: MultiMapping[str], key: str) -> list[str]:
    """``?k=a,b`` and ``?k=a&k=b`` alike (clients use both forms)."""
    return [item.strip() for raw in query.getall(key, []) for item in raw.split(",")
            if item.strip()]


def _time_us(value: str, what: str) -> int:
    """An RFC 3339 time (UTC unless it says otherwise), in microseconds."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{what}: expected an RFC 3339 time such as "
                         "2024-05-01T12:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return (when - _EPOCH) // _US
    except OverflowError:
        raise BadRequest(f"{what}: out of range") from None


def parse_filter(query: MultiMapping[str]) -> PinFilter:
    """The filters of ``GET /pins``; absent ``status`` means only ``pinned``."""
    cids = tuple(dict.fromkeys(parse_cid(c) for c in _listed(query, "cid")))
    if len(cids) > MAX_CIDS:
        raise BadRequest(f"cid: at most {MAX_CIDS} CIDs")
    if "cid" in query and not cids:
        raise BadRequest("cid: expected one or more CIDs")
    name = query.get("name")
    if name is not None:
        name = _string(name, "name", MAX_NAME_CHARS)
    match = query.get("match", "exact").strip()
    if match not in MATCHES:
        raise BadRequest(f"match: expected one of {', '.join(MATCHES)}")
    statuses: tuple[str, ...] = ("pinned",)
    if "status" in query:
        listed = _listed(query, "status")
        for status in listed:
            if status not in JOB_STATUSES:
                raise BadRequest(f"status: {status!r} is not one of {', '.join(JOB_STATUSES)}")
        if not listed:
            raise BadRequest(f"status: expected one or more of {', '.join(JOB_STATUSES)}")
        statuses = tuple(dict.fromkeys(listed))
    # ``created`` is stored in ms: "before 12.3456 s" keeps 12.345 s, "after" drops it.
    before = query.get("before")
    before_ms = None if before is None else math.ceil(_time_us(before, "before") / 1000)
    after = query.get("after")
    after_ms = None if after is None else _time_us(after, "after") // 1000
    meta: dict[str, str] = {}
    if "meta" in query:
        try:
            decoded = json.loads(query["meta"])
        except (ValueError, RecursionError):
            raise BadRequest('meta: not JSON (expected an object such as {"app": "x"})') from None
        meta = parse_meta(decoded)
    limit = parse_int(query.get("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT)
    if limit < 1:
        raise BadRequest("limit: at least 1")
    return PinFilter(cids, name, cast("Match", match), statuses, before_ms, after_ms, meta, limit)
