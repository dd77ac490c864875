"""Gateway requests: redirects only within the origin, errors into the client's hierarchy.

A gateway's answer is checked by hashing, but where it sends us is not: a
redirect to another origin could point a service or a verifier at any host
(an internal one included), so only redirects to the same scheme, host and
port are followed. Failures become :mod:`bulkpin.client.errors` classes, the
ones :func:`bulkpin.client.retry.classify` judges.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import aiohttp

from ..client.errors import DecooError, convert_transport_error, error_for_status
from ..client.retry import parse_retry_after

__all__ = ["MAX_REDIRECTS", "check_status", "same_origin_get", "transport_error"]

#: Same-origin redirects followed before giving up.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port


async def same_origin_get(
    session: aiohttp.ClientSession, url: str, *, headers: Mapping[str, str]
) -> aiohttp.ClientResponse:
    """``GET url``, following redirects only to ``url``'s own origin.

    A redirect elsewhere is answered as an error (``HTTPStatusError`` with the
    3xx status, never retried); the caller closes the response it gets.
    """
    origin = _origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        response = await session.get(url, headers=dict(headers), allow_redirects=False)
        if response.status not in _REDIRECTS:
            return response
        location = response.headers.get("Location", "")
        response.release()
        target = urljoin(url, location)
        if not location or _origin(target) != origin:
            raise error_for_status(
                response.status, f"redirect to another origin not followed: {target[:200]}",
                operation="gateway", url=url,
            )
        url = target
    raise error_for_status(310, "too many redirects", operation="gateway", url=url)


async def check_status(response: aiohttp.ClientResponse, url: str) -> None:
    """Raise the client's error for a non-200 answer (``Retry-After`` kept for 429/503)."""
    if response.status == 200:
        return
    text = (await response.content.read(500)).decode("utf-8", "replace")
    raise error_for_status(
        response.status, text, operation="gateway", url=url,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def transport_error(exc: BaseException, url: str) -> DecooError:
    """An aiohttp, OS or timeout error met while talking to a gateway, converted."""
    return convert_transport_error(exc, operation="gateway", url=url, request_sent=True)
