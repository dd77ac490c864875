"""The one exception hierarchy of the Decoo client.

Everything the client raises is a :class:`DecooError`; aiohttp, OS and timeout
errors are converted here, once, to the most specific class, and nowhere else.
Whether an error is retried is decided by :mod:`.retry`, not by its class alone.

::

    DecooError
    ├── ConfigurationError        unusable credentials, profile, zone or option
    │   └── InsecureFileError     a profile or key file readable by group or others
    ├── LocalFileError            this file cannot be pinned as it is; the others can
    │   ├── FileChangedError      the file changed while it was being read
    │   └── PinHashMismatch       the service answered a PinHash other than the file's CID
    ├── TransportError            no usable HTTP answer arrived
    │   ├── TLSError              the certificate was refused (never retried)
    │   ├── ConnectError          no connection; nothing was sent
    │   ├── RequestTimeout
    │   │   ├── ConnectTimeout    no connection in time; nothing was sent
    │   │   ├── WriteTimeout      the service stopped reading the request
    │   │   └── ReadTimeout       no answer in time after the request was sent
    │   └── ConnectionBroken      the connection closed part-way through the exchange
    ├── InvalidResponse           an answer that is not the JSON the contract describes
    ├── HTTPStatusError           an error status (.status, .message)
    │   ├── BadRequest            400
    │   ├── AuthenticationError   401 (the API key or the access token)
    │   ├── Forbidden             403 (for uploads: the ``secret`` does not match)
    │   ├── PayloadTooLarge       413
    │   ├── ContentMismatch       422 (the bytes do not hash to the claimed CID)
    │   ├── RateLimited           429 (.retry_after)
    │   └── ServerError           5xx
    └── OutcomeUnknown            an upload may or may not have been pinned

Every instance records the operation (``"pinFile"``) and, once retries end, how
many attempts were made and whether the client-wide retry budget ran out.
Messages never contain a secret: text that did not originate here goes through
:func:`~.redact.redact`.
"""

from __future__ import annotations

import errno
import ssl
from typing import ClassVar

import aiohttp

from .redact import redact

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionBroken",
    "ContentMismatch",
    "DecooError",
    "FileChangedError",
    "Forbidden",
    "HTTPStatusError",
    "InsecureFileError",
    "InvalidResponse",
    "LocalFileError",
    "OutcomeUnknown",
    "PayloadTooLarge",
    "PinHashMismatch",
    "RateLimited",
    "ReadTimeout",
    "RequestTimeout",
    "ServerError",
    "TLSError",
    "TransportError",
    "WriteTimeout",
    "convert_transport_error",
    "error_for_status",
]


class DecooError(Exception):
    """Base of every error the Decoo client raises."""

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The API operation (``"pinFile"``, ``"accessToken"``...) that failed, if any.
        self.operation = operation
        #: Attempts made before giving up (set by the retry layer).
        self.attempts = 1
        #: True when a retry was refused because the client-wide retry budget was empty.
        self.budget_exhausted = False
        #: True once a retry loop has given up on this error, so an enclosing
        #: operation (an upload that needed a token) does not retry it again.
        self.final = False

    def __str__(self) -> str:
        text = self.message if self.operation is None else f"{self.operation}: {self.message}"
        if self.attempts > 1:
            text += f" (after {self.attempts} attempts)"
        if self.budget_exhausted:
            text += " (retry budget exhausted)"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ConfigurationError(DecooError):
    """Credentials, a profile, a zone or an option that cannot be used."""


class InsecureFileError(ConfigurationError):
    """A profile or private-key file that users other than its owner can read."""


class LocalFileError(DecooError):
    """This file cannot be pinned as it is: mostly, it could not be opened or read.

    What its subclasses share is their fate: the file fails, sending it again
    cannot help, and the other files of a run are not affected.
    """


class FileChangedError(LocalFileError):
    """The file's size or modification time changed while it was read.

    The upload is aborted before the ``cid`` part is sent, so nothing is ever
    pinned under a CID that does not describe the file.
    """


class PinHashMismatch(LocalFileError):
    """The service answered ``pinFile`` with a ``PinHash`` other than the file's CID.

    It pinned other bytes under this upload, or says it did: either way the file
    is not pinned as itself. The message names both CIDs.
    """

    def __init__(self, pin_hash: str, cid: str, *, operation: str | None = None) -> None:
        super().__init__(
            f"the service answered PinHash {pin_hash}, but the file's CID is {cid}",
            operation=operation,
        )
        self.pin_hash = pin_hash
        self.cid = cid


class TransportError(DecooError):
    """No usable HTTP answer arrived.

    ``request_sent`` is True when the whole request, body included, had been
    handed to the operating system before the failure: the service may have
    acted on it, so the outcome is unknown.
    """

    def __init__(
        self, message: str, *, operation: str | None = None, request_sent: bool = False
    ) -> None:
        super().__init__(message, operation=operation)
        self.request_sent = request_sent


class TLSError(TransportError):
    """The service's certificate was refused, or the TLS handshake failed."""


class ConnectError(TransportError):
    """No connection could be made; nothing was sent."""


class RequestTimeout(TransportError):
    """A connect, write or read step took longer than its timeout."""


class ConnectTimeout(RequestTimeout):
    """No connection within the connect timeout; nothing was sent."""


class WriteTimeout(RequestTimeout):
    """The service stopped accepting the request body for longer than the timeout."""


class ReadTimeout(RequestTimeout):
    """No answer, or a pause in the answer, longer than the read timeout."""


class ConnectionBroken(TransportError):
    """The connection closed (or was reset) part-way through the exchange."""


class InvalidResponse(DecooError):
    """An answer that is not what the contract describes: not JSON, or missing fields."""

    def __init__(
        self, message: str, *, operation: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, operation=operation)
        self.status = status


class HTTPStatusError(DecooError):
    """The service answered with an error status."""

    #: The status this class stands for (None: any).
    status_code: ClassVar[int | None] = None

    def __init__(
        self,
        status: int,
        message: str,
        *,
        operation: str | None = None,
        url: str | None = None,
    ) -> None:
        # The service's text is not ours: it could echo a header back.
        clean = redact(message.strip())[:500]
        text = f"HTTP {status}" + (f": {clean}" if clean else "")
        if url:
            text += f" ({url})"
        super().__init__(text, operation=operation)
        self.status = status
        self.service_message = clean
        self.url = url
        #: The answer's own HTTP status when the error was reported in its body
        #: instead (Decoo's ``{"Code": 500, ...}`` wrapper under HTTP 200).
        self.http_status: int | None = None


class BadRequest(HTTPStatusError):
    """400: a missing field, bad JSON or a malformed CID."""

    status_code = 400


class AuthenticationError(HTTPStatusError):
    """401: the API key, or an access token, is missing, invalid or expired.

    ``renewable`` is True when the credential was an access token, which the
    client can replace; a rejected API key cannot be fixed by retrying.
    """

    status_code = 401
    renewable: bool = False


class Forbidden(HTTPStatusError):
    """403: for an upload, the ``secret`` is not the signature of the CID by this account's key."""

    status_code = 403


class PayloadTooLarge(HTTPStatusError):
    """413: the file is over the service's size limit."""

    status_code = 413


class ContentMismatch(HTTPStatusError):
    """422: the uploaded bytes do not hash to the claimed CID."""

    status_code = 422


class RateLimited(HTTPStatusError):
    """429: too many requests; ``retry_after`` is the delay the service asked for, if usable."""

    status_code = 429
    retry_after: float | None = None


class ServerError(HTTPStatusError):
    """5xx: trouble on the service's side."""


class OutcomeUnknown(DecooError):
    """An upload's answer was lost and the service could not be asked whether it was pinned.

    Uploading again is harmless (another job for the same CID), but the client
    does not do it blindly; the caller decides.
    """

    def __init__(
        self, message: str, *, operation: str | None = None, cid: str | None = None
    ) -> None:
        super().__init__(message, operation=operation)
        self.cid = cid


_STATUS_CLASSES: dict[int, type[HTTPStatusError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        AuthenticationError,
        Forbidden,
        PayloadTooLarge,
        ContentMismatch,
        RateLimited,
    )
    if cls.status_code is not None
}


def error_for_status(
    status: int,
    message: str,
    *,
    operation: str | None = None,
    url: str | None = None,
    retry_after: float | None = None,
    renewable: bool = False,
) -> HTTPStatusError:
    """The most specific :class:`HTTPStatusError` for an HTTP status.

    ``renewable`` is kept by an :class:`AuthenticationError`, ``retry_after`` by
    :class:`RateLimited`; the other classes have no use for them.
    """
    cls = ServerError if status >= 500 else _STATUS_CLASSES.get(status, HTTPStatusError)
    error = cls(status, message, operation=operation, url=url)
    if isinstance(error, AuthenticationError):
        error.renewable = renewable
    elif isinstance(error, RateLimited):
        error.retry_after = retry_after
    return error


def _describe(exc: BaseException) -> str:
    # aiohttp's messages can quote the request (URL, and for response errors the
    # headers): keep the class name, scrub the text.
    text = redact(str(exc)).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


_TLS_ERRORS = (
    aiohttp.ClientConnectorCertificateError,
    aiohttp.ClientConnectorSSLError,
    aiohttp.ServerFingerprintMismatch,
    ssl.SSLError,
)
_REFUSED = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})

# (what aiohttp or the OS raised, what it becomes, how to say it), most specific
# first: aiohttp's certificate, connector and timeout errors are OSErrors and
# TimeoutErrors too.
_TRANSPORT_TABLE: tuple[tuple[tuple[type[BaseException], ...], type[TransportError], str], ...] = (
    (_TLS_ERRORS, TLSError, "TLS failure talking to"),
    ((aiohttp.ConnectionTimeoutError,), ConnectTimeout, "timed out connecting to"),
    ((aiohttp.ClientConnectorError,), ConnectError, "cannot connect to"),
    ((aiohttp.SocketTimeoutError,), ReadTimeout, "timed out waiting for the answer from"),
    (
        (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, ConnectionError),
        ConnectionBroken,
        "connection broke with",
    ),
)


def convert_transport_error(
    exc: BaseException,
    *,
    operation: str | None,
    url: str,
    request_sent: bool,
) -> DecooError:
    """Map an aiohttp, OS or timeout error raised while talking to ``url``.

    ``request_sent`` says whether the whole request had been written when it
    failed; it decides whether the outcome of the request is unknown.
    """
    where = f"{url}: {_describe(exc)}"
    if isinstance(exc, aiohttp.InvalidURL):
        return ConfigurationError(f"invalid URL {redact(str(exc.url))}", operation=operation)
    if isinstance(exc, aiohttp.ClientResponseError):
        # Raised by aiohttp while parsing a malformed answer; it carries the
        # request's headers, which is why only its redacted text is kept.
        return InvalidResponse(
            f"malformed answer from {where}", operation=operation, status=exc.status
        )
    cls: type[TransportError] | None = None
    text = ""
    for types, candidate, verb in _TRANSPORT_TABLE:
        if isinstance(exc, types):
            cls, text = candidate, f"{verb} {where}"
            break
    else:
        if isinstance(exc, TimeoutError):
            cls = ReadTimeout if request_sent else WriteTimeout
            verb = "waiting for the answer from" if request_sent else "sending to"
            text = f"timed out {verb} {where}"
        elif isinstance(exc, OSError) and exc.errno in _REFUSED:
            cls, text = ConnectError, f"cannot connect to {where}"
        elif isinstance(exc, OSError | aiohttp.ClientError):
            cls, text = ConnectionBroken, f"connection broke with {where}"
    if cls is None:
        raise TypeError(f"not a transport error: {type(exc).__name__}") from None
    # Nothing was sent when the connection could not be made.
    sent = request_sent and not issubclass(cls, ConnectError | ConnectTimeout | TLSError)
    return cls(text, operation=operation, request_sent=sent)
