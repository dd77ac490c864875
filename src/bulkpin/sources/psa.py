"""Another pinning service's pins, through the IPFS Pinning Service API.

``GET {base}/pins?status=pinned&limit=…`` with ``Authorization: Bearer <token>``,
paged backwards on ``created`` by :class:`~.psa_paging.PageWalk` (which explains
how pins sharing a ``created`` time at a page boundary are neither skipped nor
repeated). Names and ``meta`` are carried over; each item has the ``created``
the service gave it.

Resuming: a run that stopped passes the ``created`` of the last item it
finished as ``before=``; the listing restarts *at* that time (inclusive, so
pins that shared it are not lost; the few listed again are skipped by the
caller's journal). ``after=`` lists only pins created at or after a time, for
a re-run that wants what a source gained since its last full listing. Without
either, a re-listing starts from the newest pin, so what was added comes first.

Every page request goes through the client's :class:`~bulkpin.client.RetryPolicy`
(pass the run's own, to share its retry budget): connection failures, 5xx, 429
(honouring ``Retry-After``) and unreadable answers are retried; a refused token
is :class:`~.errors.SourceAuthenticationError`, at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import aiohttp

from ..client.errors import InvalidResponse
from ..client.retry import Attempt, RetryPolicy
from ._listing import ServiceListing
from ._transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    MAX_ANSWER_BYTES,
    open_answer,
    read_body,
)
from .cid_text import InvalidCid, normalise_cid
from .items import BadLine, PinItem, SourceEntry
from .psa_paging import (
    MAX_PAGE_SIZE,
    Listed,
    PageWalk,
    after_bound,
    before_bound,
    format_time,
    parse_created,
)
from .tokens import SourceToken

__all__ = ["PsaSource"]

log = logging.getLogger("bulkpin.sources")

_OPERATION: Final = "psa list"
_PINNED: Final = "pinned"
_QUOTE_CHARS: Final = 200


@dataclass(frozen=True, slots=True)
class _Status:
    """One ``PinStatus`` of a page, read."""

    listed: Listed
    status: str
    cid: str
    name: str | None
    meta: dict[str, str]


class PsaSource(ServiceListing):
    """The pinned pins of a Pinning Service API account, newest first.

    ``base_url`` is the API root (``https://api.pinata.cloud/psa``: requests go
    to ``{base_url}/pins``). ``before``/``after``: see the module docstring
    (both inclusive; a ``created`` string as an item carries it, or a datetime).
    ``page_size``: pins per request (1 to 1000). ``session``: a session to use
    (the caller closes it); by default each listing opens its own.
    """

    scheme = "psa"

    def __init__(
        self,
        base_url: str,
        token: SourceToken | None,
        *,
        before: datetime | str | None = None,
        after: datetime | str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        super().__init__(base_url, token, retry=retry, session=session,
                         connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._before = before_bound(before)
        self._after = after_bound(after)
        self._page_size = page_size

    async def _entries(self) -> AsyncGenerator[SourceEntry, None]:
        async with self._listing_session() as session:
            walk = PageWalk(page_size=self._page_size, before=self._before, source=self.label)
            position = 0
            while not walk.done:
                count, page = await self._page(session, walk.before, walk.limit)
                for index in walk.take([status.listed for status in page], count):
                    position += 1
                    entry = self._entry(page[index], position)
                    if entry is not None:
                        yield entry

    def _entry(self, status: _Status, position: int) -> SourceEntry | None:
        if status.status != _PINNED:
            return None  # the service ignored the status filter
        try:
            cid = normalise_cid(status.cid)
        except InvalidCid as exc:
            return BadLine(self.label, position, status.cid[:_QUOTE_CHARS], exc.reason)
        return PinItem(cid, status.name, status.meta, self.label, status.listed.created.text)

    async def _page(
        self, session: aiohttp.ClientSession, before: datetime | None, limit: int
    ) -> tuple[int | None, list[_Status]]:
        params = {"status": _PINNED, "limit": str(limit)}
        if before is not None:
            params["before"] = format_time(before)
        if self._after is not None:
            params["after"] = format_time(self._after)
        url = f"{self.base_url}/pins"

        async def attempt(_: Attempt) -> tuple[int | None, list[_Status]]:
            response = await open_answer(
                session, "GET", url, operation=_OPERATION, source=self.label,
                token=self._token, params=params,
            )
            try:
                raw = await read_body(response, operation=_OPERATION, limit=MAX_ANSWER_BYTES)
            finally:
                response.release()
            return _parse_results(raw, url)

        count, page = await self._retry.call(_OPERATION, attempt)
        log.debug("%s: %d pins before %s (count %s)", self.label, len(page),
                  params.get("before", "now"), count)
        return count, page


def _invalid(url: str, what: str) -> InvalidResponse:
    return InvalidResponse(
        f"{url} did not answer with Pinning Service API PinResults: {what}", operation=_OPERATION
    )


def _parse_results(raw: bytes, url: str) -> tuple[int | None, list[_Status]]:
    """(``count``, the ``results``) of a ``PinResults`` body; InvalidResponse naming ``url``."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid(url, f"the answer ({len(raw)} bytes) is not JSON") from None
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise _invalid(url, "no 'results' list")
    count = body.get("count")
    try:
        count = None if count is None else int(count)
    except (TypeError, ValueError):
        raise _invalid(url, f"'count' is {str(count)[:40]!r}") from None
    return count, [_parse_status(item, i, url) for i, item in enumerate(body["results"])]


def _parse_status(item: Any, index: int, url: str) -> _Status:
    where = f"results[{index}]"
    if not isinstance(item, Mapping):
        raise _invalid(url, f"{where} is not a PinStatus object")
    pin = item.get("pin")
    requestid, created, status = item.get("requestid"), item.get("created"), item.get("status")
    if not isinstance(pin, Mapping) or not isinstance(pin.get("cid"), str):
        raise _invalid(url, f"{where}.pin.cid is missing")
    if not isinstance(requestid, str) or not requestid:
        raise _invalid(url, f"{where}.requestid is missing")
    if not isinstance(created, str):
        raise _invalid(url, f"{where}.created is missing")
    try:
        when = parse_created(created)
    except ValueError:
        raise _invalid(url, f"{where}.created {created[:40]!r} is not an RFC 3339 time") from None
    name = pin.get("name")
    return _Status(
        Listed(requestid, when),
        status if isinstance(status, str) else "",
        pin["cid"],
        name if isinstance(name, str) and name else None,
        _meta(pin.get("meta")),
    )


def _meta(value: Any) -> dict[str, str]:
    """``PinMeta`` is strings to strings; other values are kept as their JSON text."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        for k, v in value.items()
    }
