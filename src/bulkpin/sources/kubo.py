"""A kubo node's pins, through its RPC API (read-only).

``POST {base}/api/v0/pin/ls?type=recursive&stream=true&names=true``: with
``stream`` kubo writes one JSON object per line as it finds each pin,
``{"Cid": "…", "Type": "recursive", "Name": "…"}`` (``Name`` only when the pin
has one and ``names`` is asked for), so the listing is read line by line and
never held whole. Nothing else is called: the node is only read.

Errors, as kubo's command library (go-ipfs-cmds) reports them: an error before
any output is an HTTP 500 (400 for a bad request) with
``{"Message": "…", "Code": 0, "Type": "error"}``; that and transport failures
go through the client's :class:`~bulkpin.client.RetryPolicy`. Once lines have
arrived, nothing is retried (a second listing would repeat them): an error
object in the stream (the form older nodes use) raises
:class:`~.errors.SourceError`, a broken connection the client's transport
error. Newer nodes report a failure *after* output began only in the
``X-Stream-Error`` HTTP trailer, which aiohttp does not expose: such a
listing just ends early. The caller's journal makes a re-run cheap, and a
re-run lists again from the start.

A token, if given, is sent as ``Authorization: Bearer`` (kubo's
``API.Authorizations``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Final

import aiohttp
from aiohttp.http_exceptions import LineTooLong

from ..client.errors import InvalidResponse, convert_transport_error
from ..client.retry import Attempt, RetryPolicy
from ._listing import ServiceListing
from ._transport import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, open_answer
from .cid_text import InvalidCid, normalise_cid
from .errors import SourceError
from .items import BadLine, PinItem, SourceEntry
from .tokens import SourceToken

__all__ = ["KUBO_PIN_TYPES", "KuboSource"]

log = logging.getLogger("bulkpin.sources")

#: The pin types ``pin/ls`` can list.
KUBO_PIN_TYPES: Final = ("recursive", "direct", "indirect", "all")
_OPERATION: Final = "kubo pin/ls"
#: A pin line is a CID, a type and a name of at most a few hundred bytes.
_MAX_LINE_BYTES: Final = 64 * 1024
_QUOTE_CHARS: Final = 200


class KuboSource(ServiceListing):
    """The pins of a kubo node (``base_url`` is its RPC API, ``http://127.0.0.1:5001``).

    ``pin_type``: which pins (``recursive`` by default: what ``ipfs pin add``
    makes). ``names``: ask for pin names (kubo 0.26 and later know them).
    ``session``: a session to use (the caller closes it); by default each
    listing opens its own.
    """

    scheme = "kubo"

    def __init__(
        self,
        base_url: str,
        token: SourceToken | None = None,
        *,
        pin_type: str = "recursive",
        names: bool = True,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        if pin_type not in KUBO_PIN_TYPES:
            raise ValueError(f"pin_type must be one of {', '.join(KUBO_PIN_TYPES)}")
        super().__init__(base_url, token, retry=retry, session=session,
                         connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._pin_type = pin_type
        self._names = names

    async def _entries(self) -> AsyncGenerator[SourceEntry, None]:
        url = f"{self.base_url}/api/v0/pin/ls"
        params = {
            "type": self._pin_type,
            "stream": "true",
            "names": "true" if self._names else "false",
        }

        async with self._listing_session() as session:

            async def attempt(_: Attempt) -> aiohttp.ClientResponse:
                return await open_answer(
                    session, "POST", url, operation=_OPERATION, source=self.label,
                    token=self._token, params=params,
                )

            response = await self._retry.call(_OPERATION, attempt)
            try:
                number = 0
                async for line in _lines(response, url):
                    number += 1
                    entry = self._entry(number, line, url)
                    if entry is not None:
                        yield entry
                log.debug("%s: %d lines", self.label, number)
            finally:
                response.release()

    def _entry(self, number: int, line: bytes, url: str) -> SourceEntry | None:
        text = line.strip()
        if not text:
            return None
        try:
            obj = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise InvalidResponse(
                f"{url}: line {number} of the pin listing is not JSON", operation=_OPERATION
            ) from None
        if not isinstance(obj, Mapping):
            raise InvalidResponse(
                f"{url}: line {number} of the pin listing is not a JSON object",
                operation=_OPERATION,
            )
        if obj.get("Type") == "error" or ("Message" in obj and "Cid" not in obj):
            raise SourceError(
                f"{self.label} reported an error part-way through its pin listing "
                f"(after {number - 1} lines): {str(obj.get('Message', ''))[:_QUOTE_CHARS]}",
                operation=_OPERATION,
            )
        cid = obj.get("Cid")
        if not isinstance(cid, str):
            raise InvalidResponse(
                f"{url}: line {number} of the pin listing has no 'Cid' (not a streamed "
                "pin/ls: is this kubo's RPC API?)",
                operation=_OPERATION,
            )
        try:
            normalised = normalise_cid(cid)
        except InvalidCid as exc:
            return BadLine(self.label, number, cid[:_QUOTE_CHARS], exc.reason)
        name = obj.get("Name")
        return PinItem(normalised, name if isinstance(name, str) and name else None, {}, self.label)


async def _lines(response: aiohttp.ClientResponse, url: str) -> AsyncIterator[bytes]:
    """The answer's lines as they arrive; transport errors converted, never retried."""
    stream = response.content
    while True:
        try:
            line = await stream.readuntil(b"\n", max_size=_MAX_LINE_BYTES)
        except (ValueError, LineTooLong):  # which one depends on the aiohttp version
            raise InvalidResponse(
                f"{url}: a line of the pin listing is longer than {_MAX_LINE_BYTES} bytes",
                operation=_OPERATION,
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise convert_transport_error(
                exc, operation=_OPERATION, url=url, request_sent=True
            ) from None
        if not line:
            return
        yield line
