"""The sources' HTTP boundary: where aiohttp, OS and timeout errors and error
statuses become :mod:`bulkpin.client.errors` classes, once.

Same rules as the client's own boundary (``DecooClient._exchange``): the error
text a service sends is not ours and goes through the client's redaction (the
classes do it); the ``Authorization`` header is built here from a
:class:`~bulkpin.client.redact.Secret` and appears in no message or log.
A 401 or 403 becomes :class:`~.errors.SourceAuthenticationError`, which says
that the *source* refused its token. Retrying is not decided here: callers
wrap each exchange in :meth:`bulkpin.client.RetryPolicy.call`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Final

import aiohttp

from .. import __version__
from ..client.errors import InvalidResponse, convert_transport_error, error_for_status
from ..client.retry import parse_retry_after
from .errors import SourceAuthenticationError
from .tokens import SourceToken

log = logging.getLogger("bulkpin.sources")

DEFAULT_CONNECT_TIMEOUT: Final = 10.0
DEFAULT_READ_TIMEOUT: Final = 120.0
#: A page of 1000 pins is well under a megabyte; a longer answer is not read.
MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
#: Bytes of an error answer read to quote it.
_ERROR_BYTES: Final = 4096
_QUOTED_CHARS: Final = 300


def new_session(connect_timeout: float, read_timeout: float) -> aiohttp.ClientSession:
    """A session whose every answer is bounded whole: ``read_timeout`` from the request sent.

    A per-read timeout alone let a source that trickles a byte a second hold a
    run for ever; a listing is many requests, each of them bounded.
    """
    if connect_timeout <= 0 or read_timeout <= 0:
        raise ValueError("timeouts must be positive")
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(
            total=connect_timeout + read_timeout, connect=None, sock_connect=connect_timeout,
            sock_read=read_timeout
        ),
        headers={"User-Agent": f"bulkpin/{__version__}"},
        raise_for_status=False,
        # Proxies from the environment are not used silently for a credential.
        trust_env=False,
    )


def auth_headers(token: SourceToken | None) -> dict[str, str]:
    """The ``Authorization`` header for ``token``; built per request, never logged."""
    return {} if token is None else {"Authorization": f"Bearer {token.secret.reveal()}"}


async def error_excerpt(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The first ``limit`` bytes of an error answer, enough to quote; the answer is released.

    An error answer that breaks off is still an error answer. Released before
    its end, the answer's connection is closed, not reused.
    """
    try:
        return await response.content.read(limit)
    except (aiohttp.ClientError, OSError, TimeoutError):
        return b""
    finally:
        response.release()


def _error_text(raw: bytes) -> str:
    """The service's own words: the PSA ``error.reason: details``, kubo's ``Message``..."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw[:_QUOTED_CHARS].decode("utf-8", "replace")
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            parts = [str(error[k]) for k in ("reason", "details") if error.get(k)]
            if parts:
                return ": ".join(parts)
        for key in ("Message", "message", "Msg", "error"):
            if body.get(key):
                return str(body[key])
    return raw[:_QUOTED_CHARS].decode("utf-8", "replace")


async def read_body(response: aiohttp.ClientResponse, *, operation: str, limit: int) -> bytes:
    """The answer's body, at most ``limit`` bytes (InvalidResponse beyond)."""
    pieces: list[bytes] = []
    size = 0
    try:
        while piece := await response.content.read(limit + 1 - size):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                raise InvalidResponse(
                    f"the answer from {response.url} is longer than {limit} bytes",
                    operation=operation, status=response.status,
                )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise convert_transport_error(
            exc, operation=operation, url=str(response.url), request_sent=True
        ) from None
    return b"".join(pieces)


async def open_answer(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    operation: str,
    source: str,
    token: SourceToken | None,
    params: Mapping[str, str] | None = None,
) -> aiohttp.ClientResponse:
    """Send one request; return its answer if 2xx (the caller releases it), else raise.

    ``source`` names the source in messages (``psa:https://…``).
    """
    try:
        response = await session.request(
            method, url, params=params, headers=auth_headers(token), allow_redirects=False
        )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        error = convert_transport_error(exc, operation=operation, url=url, request_sent=True)
        log.debug("%s %s: %s", method, url, error.message)
        raise error from None
    log.debug("%s %s -> %d", method, response.url, response.status)
    if 200 <= response.status < 300:
        return response
    text = _error_text(await error_excerpt(response, _ERROR_BYTES))
    status = response.status
    if status in (401, 403):
        whose = f" from {token.origin}" if token is not None else " (none was given)"
        raise SourceAuthenticationError(
            status,
            f"the source {source} refused the token{whose}"
            + (f": {text.strip()}" if text.strip() else ""),
            operation=operation,
            url=url,
        )
    raise error_for_status(
        status,
        text,
        operation=operation,
        url=url,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )
