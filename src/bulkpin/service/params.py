"""Reading what clients send: CIDs, paging parameters, dates, names.

Each parser raises :class:`~.errors.BadRequest` with a message naming the
parameter, so every bad value becomes a 400 and never reaches the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..unixfs.node import cid_from_str, cid_to_str
from .body_rate import PacedBody
from .config import JSON_BODY_MAX
from .errors import BadRequest, PayloadTooLarge

#: pinJobs and pinList pages, as documented.
DEFAULT_LIMIT = 5
MAX_LIMIT = 1000
_MAX_OFFSET = 10**12
#: Names (file names, metadata names) are metadata; longer ones are cut.
MAX_NAME_CHARS = 16 * 1024
_MAX_CID_CHARS = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_cid(text: str, what: str = "cid") -> str:
    """The canonical text form of a CID (v0 base58btc, v1 base32)."""
    text = text.strip()
    if not text or len(text) > _MAX_CID_CHARS or not text.isascii():
        raise BadRequest(f"{what}: not a CID")
    try:
        return cid_to_str(cid_from_str(text))
    except ValueError as exc:
        raise BadRequest(f"{what}: not a CID") from exc


def parse_int(value: str | None, what: str, default: int, maximum: int) -> int:
    """A non-negative decimal integer no larger than ``maximum``."""
    if value is None:
        return default
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        raise BadRequest(f"{what}: expected a non-negative integer")
    n = int(value) if len(value) <= 20 else maximum + 1
    if n > maximum:
        raise BadRequest(f"{what}: at most {maximum}")
    return n


def parse_limit(value: str | None) -> int:
    """``limit``: default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`."""
    return parse_int(value, "limit", DEFAULT_LIMIT, MAX_LIMIT)


def parse_offset(value: str | None) -> int:
    """``offset``: default 0."""
    return parse_int(value, "offset", 0, _MAX_OFFSET)


def parse_sort(value: str | None) -> bool:
    """``sort``: True for DESC (the default), False for ASC."""
    if value is None:
        return True
    v = value.strip().upper()
    if v not in ("ASC", "DESC"):
        raise BadRequest("sort: expected ASC or DESC")
    return v == "DESC"


def parse_date(value: str | None, what: str) -> int | None:
    """An ISO 8601 date or date-time (UTC unless it says otherwise), in ms."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{what}: expected an ISO 8601 date") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return (when - _EPOCH) // timedelta(milliseconds=1)
    except OverflowError:
        raise BadRequest(f"{what}: out of range") from None


def format_date(ms: int) -> str:
    """ISO 8601 UTC with milliseconds, as JavaScript's ``toISOString``."""
    when = _EPOCH + timedelta(milliseconds=ms)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clean_name(name: str) -> str:
    """A name safe to store and print: valid UTF-8, no NUL, not absurdly long."""
    name = name.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return name[:MAX_NAME_CHARS]


async def read_json(body: PacedBody) -> Any:
    """A request's JSON body, read under the service's pace rules.

    408 if it stalls or trickles (:class:`~.body_rate.PacedBody`), 413 past
    ``JSON_BODY_MAX``, 400 if it is not JSON.
    """
    raw = bytearray()
    while chunk := await body.read():
        raw += chunk
        if len(raw) > JSON_BODY_MAX:
            raise PayloadTooLarge(f"a JSON body is at most {JSON_BODY_MAX} bytes")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("body is not JSON") from None


def extra_metadata(decoo_metadata: Mapping[str, Any] | None) -> str | None:
    """What of a ``decooMetadata`` object to keep as the pin's PSA ``meta`` (JSON), if any.

    The name has its own column; other entries with string values (``cidProfile``...)
    are kept, so a migration reading ``/psa/pins`` carries them over.
    """
    if not decoo_metadata:
        return None
    kept = {k: v for k, v in decoo_metadata.items()
            if k != "name" and isinstance(k, str) and isinstance(v, str)}
    return json.dumps(kept) if kept else None
