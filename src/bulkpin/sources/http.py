"""HTTP(S) URLs as a source: a URL list read line by line, each URL's body streamed and resumed.

:func:`read_url_list` turns ``push --urls FILE`` lines into :class:`UrlEntry`
records (one URL per line, an optional name after whitespace, ``#`` comments),
and unusable lines into :class:`BadLine` records with their line number, in
order, so the caller can stop early or report and go on.

:meth:`HttpSource.open_url` GETs a URL with ``Accept-Encoding: identity`` and
no decompression (the bytes pinned are the resource's bytes, not a gzip
stream's) and remembers what the answer said: ``Content-Length`` (None when
the server streams chunked; the uploader then needs a chunked upload),
``ETag``, ``Last-Modified``, ``Accept-Ranges``. A body that breaks part-way is
resumed with ``Range: bytes=N-`` and ``If-Range: <validator>``, so a resource
that changed comes back whole (``200``) rather than spliced, and is refused
as :class:`~.remote_errors.ObjectChanged`. Without range support or a
validator, a broken body raises :class:`~.remote_errors.SourceUnavailable`
with ``resumable=False``: the caller reads the URL again from the start or
reports it.

Requests are retried by the Decoo client's one retry policy and classifier
(:class:`~bulkpin.client.retry.RetryPolicy`): aiohttp errors and statuses are
converted with the client's converters, and what the policy finally raises is
converted once more, here, to :mod:`.remote_errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final, Self
from urllib.parse import urlsplit

import aiohttp
from anyio.abc import AsyncResource

from ..client.errors import (
    ConfigurationError,
    DecooError,
    HTTPStatusError,
    TLSError,
    convert_transport_error,
    error_for_status,
)
from ..client.retry import Attempt, RetryPolicy, parse_retry_after
from ._transport import error_excerpt
from .remote_errors import (
    LocationError,
    ObjectChanged,
    ObjectDenied,
    ObjectError,
    ObjectNotFound,
    SourceError,
    SourceUnavailable,
)
from .resume import DEFAULT_MAX_RESUMES, BodyBroken, ResumingReader, check_resumed_range

__all__ = ["BadLine", "HttpObject", "HttpSource", "UrlEntry", "read_url_list"]

_SCHEMES: Final = frozenset({"http", "https"})
#: How much of an error answer's body is kept for the message.
_ERROR_TEXT: Final = 1000


@dataclass(frozen=True, slots=True)
class UrlEntry:
    """One URL of a list, the name given after it (if any), and its line number (from 1)."""

    url: str
    name: str | None
    line: int


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line of a URL list that is not a usable URL, and why."""

    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text!r}"


def _check_url(url: str) -> str | None:
    """Why ``url`` cannot be fetched, or None if it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme.lower() not in _SCHEMES:
        return "not an http:// or https:// URL"
    if not parts.hostname:
        return "no host in the URL"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "control characters in the URL"
    return None


def read_url_list(lines: Iterable[str]) -> Iterator[UrlEntry | BadLine]:
    """The entries of a URL list, lazily and in order (a huge list is never held whole).

    Blank lines and lines starting with ``#`` are skipped. The first word is
    the URL; whatever follows it after whitespace is the entry's name.
    """
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        url, _, rest = text.partition(" ")
        if "\t" in url:
            url, _, more = url.partition("\t")
            rest = f"{more} {rest}"
        name = rest.strip() or None
        why = _check_url(url)
        if why is not None:
            yield BadLine(number, text, why)
        else:
            yield UrlEntry(url, name, number)


@dataclass(frozen=True, slots=True)
class HttpObject:
    """A URL as its first answer described it: a :class:`~.remote.RemoteObject`.

    ``size`` is None when the server gave no ``Content-Length``. ``version`` is
    always None (HTTP has no version ids; ``etag``/``last_modified`` serve).
    """

    url: str
    size: int | None
    etag: str | None
    last_modified: str | None
    accepts_ranges: bool
    name: str | None = None
    version: str | None = None

    @property
    def validator(self) -> str | None:
        """What ``If-Range`` can carry: a strong ETag, else ``Last-Modified``, else None."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified


class _HttpBody:
    """An aiohttp answer's body as a :class:`~.resume.Body`."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def read(self, n: int) -> bytes:
        try:
            return await self._response.content.read(n)
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, OSError,
                TimeoutError) as exc:
            raise BodyBroken(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        # A finished body's connection goes back to the pool; an unfinished one
        # cannot be reused and is dropped.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


# (statuses, what they become, how to say it); other 4xx: ObjectError.
_STATUS_RULES: tuple[tuple[frozenset[int], type[SourceError], str], ...] = (
    (frozenset({404, 410}), ObjectNotFound, "no longer exists"),
    (frozenset({401, 403}), ObjectDenied, "access denied"),
    (frozenset({412, 416}), ObjectChanged, "changed since it was first read"),
    (frozenset({408, 429}), SourceUnavailable, "the server is busy"),
)


def _source_error(exc: DecooError, url: str) -> SourceError:
    """What a request error the retry policy gave up on means for the URL."""
    if isinstance(exc, HTTPStatusError):
        status = exc.status
        if status >= 500:
            return SourceUnavailable(f"{url}: {exc.message}", url=url)
        for statuses, cls, text in _STATUS_RULES:
            if status in statuses:
                return cls(f"{url}: {text} (HTTP {status})", url=url)
        return ObjectError(f"{url}: {exc.message}", url=url)
    if isinstance(exc, ConfigurationError):
        return LocationError(f"{url}: {exc.message}", url=url)
    if isinstance(exc, TLSError):
        # A certificate that does not verify will not verify on a retry either.
        return ObjectError(exc.message, url=url)
    return SourceUnavailable(exc.message, url=url)


class HttpSource(AsyncResource):
    """Reads URLs over one aiohttp session (its own, unless one is given).

    A given session must not decompress (``auto_decompress`` is turned off per
    request here anyway). ``retry`` is the request-level policy (the Decoo
    client's, with its backoff and budget); ``max_resumes`` bounds the resumes
    of one broken body.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        retry: RetryPolicy | None = None,
        max_resumes: int = DEFAULT_MAX_RESUMES,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self._given = session
        self._session = session
        self.retry = retry or RetryPolicy()
        self.max_resumes = max_resumes
        # No total timeout: a 10 GiB body takes as long as it takes; a stall is
        # what is timed.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )

    async def __aenter__(self) -> Self:
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False, timeout=self._timeout)
        return self

    async def aclose(self) -> None:
        """Close the session, unless it was given."""
        if self._given is None and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session requests go through."""
        if self._session is None:
            raise RuntimeError("HttpSource used outside 'async with'")
        return self._session

    @asynccontextmanager
    async def open_url(self, target: str | UrlEntry) -> AsyncIterator[ResumingReader]:
        """A reader of the URL's bytes; ``reader.object`` is an :class:`HttpObject`.

        Raises :class:`~.remote_errors.LocationError` for a URL that cannot be
        fetched, :class:`~.remote_errors.ObjectNotFound`,
        :class:`~.remote_errors.ObjectDenied`,
        :class:`~.remote_errors.ObjectChanged` or
        :class:`~.remote_errors.SourceUnavailable`, on opening or from ``read``.
        """
        url, name = (target.url, target.name) if isinstance(target, UrlEntry) else (target, None)
        why = _check_url(url)
        if why is not None:
            raise LocationError(f"{url!r}: {why}", url=url)
        response = await self._get(url, {})
        try:
            obj = _described(url, name, response)
        except BaseException:
            response.close()
            raise
        validator = obj.validator

        async def reopen(offset: int) -> _HttpBody:
            assert validator is not None
            return await self._resume(obj, validator, offset)

        if not obj.accepts_ranges:
            reopen_fn, no_resume = None, "the server does not accept byte ranges"
        elif validator is None:
            reopen_fn, no_resume = None, "the server gave no ETag or Last-Modified to resume under"
        else:
            reopen_fn, no_resume = reopen, ""
        reader = ResumingReader(
            obj, _HttpBody(response), size=obj.size, reopen=reopen_fn,
            max_resumes=self.max_resumes, no_resume=no_resume,
        )
        try:
            yield reader
        finally:
            reader.close()

    async def _resume(self, obj: HttpObject, validator: str, offset: int) -> _HttpBody:
        url = obj.url
        response = await self._get(url, {"Range": f"bytes={offset}-", "If-Range": validator})
        try:
            _check_resumed(obj, offset, response)
        except BaseException:
            response.close()
            raise
        return _HttpBody(response)

    async def _get(self, url: str, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """One GET, retried by the policy; an error status is raised, not returned."""
        headers = {"Accept-Encoding": "identity", **headers}
        session = self.session

        async def attempt(_: Attempt) -> aiohttp.ClientResponse:
            try:
                response = await session.get(url, headers=headers, auto_decompress=False)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                # A GET has no body: once connected, it is sent.
                raise convert_transport_error(
                    exc, operation="GET", url=url, request_sent=True
                ) from exc
            if response.status < 400:
                return response
            text = await error_excerpt(response, _ERROR_TEXT)
            raise error_for_status(
                response.status,
                text.decode("utf-8", "replace"),
                operation="GET",
                url=url,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )

        try:
            return await self.retry.call(f"GET {url}", attempt)
        except DecooError as exc:
            raise _source_error(exc, url) from exc


def _check_resumed(obj: HttpObject, offset: int, response: aiohttp.ClientResponse) -> None:
    """Raise unless ``response`` is the rest of ``obj`` from ``offset``."""
    url = obj.url
    if response.status == 200:
        # If-Range did not hold: the server sent the new representation whole.
        raise ObjectChanged(f"{url}: changed while it was read", url=url)
    if response.status != 206:
        raise SourceUnavailable(
            f"{url}: HTTP {response.status} to a range request", url=url, resumable=False
        )
    check_resumed_range(url, response.headers.get("Content-Range"), offset, obj.size)
    etag = response.headers.get("ETag")
    if obj.etag and etag and etag != obj.etag:
        raise ObjectChanged(f"{url}: ETag {etag} is not the first {obj.etag}", url=url)


def _described(url: str, name: str | None, response: aiohttp.ClientResponse) -> HttpObject:
    """The object a first answer describes; refuses a body that is not the resource's bytes."""
    if response.status != 200:
        raise ObjectError(f"{url}: HTTP {response.status} to a plain GET", url=url)
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        # Pinning a gzip stream would give the CID of the wrong bytes.
        raise ObjectError(
            f"{url}: the server sent a {encoding}-encoded body despite asking for none", url=url
        )
    ranges = response.headers.get("Accept-Ranges", "")
    return HttpObject(
        url=url,
        size=response.content_length,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        accepts_ranges="bytes" in ranges.lower().replace(" ", "").split(","),
        name=name,
    )
