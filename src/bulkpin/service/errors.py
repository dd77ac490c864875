"""Errors as the Decoo API gives them: ``{"Code": <status>, "Message": "..."}``.

::

    ApiError                 an answer with a 4xx/5xx status, raised by handlers
    ├── BadRequest           400: missing field, bad JSON, bad CID, bad parameter
    ├── Unauthorized         401: missing, invalid, foreign or expired key or token
    ├── Forbidden            403: a ``secret`` that is not the CID's signature
    ├── NotFound             404: no such pin request (``/psa``), no such content (``/ipfs``)
    ├── NotAcceptable        406: a response format ``/ipfs`` does not serve
    ├── PayloadTooLarge      413: over ``--max-upload-size`` (or a JSON body over 1 MiB)
    ├── CidMismatch          422: the uploaded bytes do not hash to the claimed CID
    └── RateLimited          429: over ``--rate-limit``, with ``Retry-After``

A full disk (while an upload or the database is written) is 507 Insufficient
Storage, saying so; the upload is not pinned and its temporary file is
removed, and a client retries it as any 5xx.

Under ``/psa`` (the IPFS Pinning Service API) the same errors take that API's
shape instead, ``{"error": {"reason": "BAD_REQUEST", "details": "..."}}``: the
reason is the status's name (:func:`error_response_for` picks the shape).

Every other failure becomes JSON too, at two places: :func:`error_middleware`
for whatever a handler raises (aiohttp's own 404/405/413 included), and
:class:`JsonErrorRequestHandler` for what aiohttp rejects before any handler
runs (a malformed request line, headers or chunked framing).
"""

from __future__ import annotations

import errno
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

log = logging.getLogger("bulkpin.service")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answer; ``status`` is its HTTP status and ``Code``."""

    status = 400

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    """400."""

    status = 400


class Unauthorized(ApiError):
    """401."""

    status = 401


class Forbidden(ApiError):
    """403."""

    status = 403


class NotFound(ApiError):
    """404."""

    status = 404


class NotAcceptable(ApiError):
    """406."""

    status = 406


class PayloadTooLarge(ApiError):
    """413."""

    status = 413


class RequestTimeout(ApiError):
    """408: the client stopped sending its body."""

    status = 408


class CidMismatch(ApiError):
    """422."""

    status = 422


class RateLimited(ApiError):
    """429, with the seconds to wait."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class InjectedError(ApiError):
    """A status chosen by ``--faults``."""

    def __init__(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"injected fault: {HTTPStatus(status).phrase}", headers=headers)
        self.status = status


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer (compact, UTF-8)."""
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status, headers=headers, content_type="application/json",
    )


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The Decoo error shape with that HTTP status."""
    return json_response({"Code": status, "Message": message}, status, headers)


#: Paths answered in the Pinning Service API's error shape.
PSA_PREFIX = "/psa"


def psa_error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The Pinning Service API's ``Failure`` shape: ``reason`` is the status's name."""
    try:
        reason = HTTPStatus(status).name
    except ValueError:
        reason = "ERROR"
    return json_response({"error": {"reason": reason, "details": message}}, status, headers)


def error_response_for(
    path: str, status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The error answer in the shape the API serving ``path`` uses."""
    answer = psa_error_response if _under_psa(path) else error_response
    return answer(status, message, headers)


def _under_psa(path: str) -> bool:
    return path == PSA_PREFIX or path.startswith(PSA_PREFIX + "/")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception a handler raises into the JSON error shape."""
    answer = psa_error_response if _under_psa(request.path) else error_response
    try:
        return await handler(request)
    except ApiError as exc:
        return answer(exc.status, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        message = _phrase(exc.status)
        if exc.status == 413:
            message = "request body too large"
        return answer(exc.status, message, headers)
    except Exception as exc:
        if no_space(exc):
            # A full disk is the operator's to fix, and no traceback helps with it.
            log.error(  # noqa: TRY400
                "no space left to serve %s %s: %s", request.method, request.path, exc
            )
            return answer(507, "the service has no space left to store this upload;"
                               " it was not pinned")
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return answer(500, "internal error")


def no_space(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    # Set by SQLite's own errors only: one raised by hand has no code. The
    # extended code's low byte is the primary one.
    code = getattr(exc, "sqlite_errorcode", None)
    return (isinstance(exc, sqlite3.OperationalError) and isinstance(code, int)
            and code & 0xFF == sqlite3.SQLITE_FULL)




class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own protocol errors in JSON."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            log.error("error handling request", exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        text = _phrase(status) if status >= 500 or not message else f"bad request: {message}"
        resp = error_response(status, text)
        resp.force_close()
        return resp


class JsonErrorServer(web.Server):
    """aiohttp's low-level server, with :class:`JsonErrorRequestHandler` connections."""

    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorAppRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` whose protocol errors come out as JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp has no hook for the connection class; the subclass only overrides
        # handle_error, so swapping the class of the server it built is safe.
        server.__class__ = JsonErrorServer
        return server
