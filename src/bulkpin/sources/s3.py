"""An S3 bucket (AWS, MinIO, Ceph, R2, COS...) as a source, streamed without a local copy.

The S3 client is aiobotocore's: botocore's credential chain (the ``AWS_*``
environment variables, ``~/.aws/credentials`` and ``~/.aws/config`` profiles,
SSO, container and instance roles), ``endpoint_url`` and path-style
addressing for S3-compatible stores, its paginators, and its *standard* retry
mode, which retries 500/503/SlowDown/throttling answers and connection
errors with jittered backoff and a retry quota. This module adds only what
botocore does not know about: that a body which breaks part-way is resumed
(:mod:`.resume`) and that the bytes read must be those of the object listed.

- :meth:`S3Source.list_objects` pages ``ListObjectsV2`` (one page in memory at
  a time), applies the run's :class:`~bulkpin.fs.Selection` to each key
  relative to the prefix (an exclude matching one of the key's "directories"
  leaves it out, as it prunes a directory of a local tree, and the listing
  jumps past the rest of that "directory" with ``StartAfter``), and yields
  :class:`S3Object`\\ s, plus a :class:`~.remote.Skipped` record for each
  directory marker.
- :meth:`S3Source.open_object` GETs with ``If-Match: <listed ETag>``, so S3
  itself refuses an object changed since it was listed; checks the answer's
  ETag, length and version against the listing; resumes a broken body with
  ``Range: bytes=N-`` under the same ``If-Match``; and after the last byte asks
  (``HEAD`` with ``If-Match``) whether the object is still the one read, so an
  object overwritten mid-read raises :class:`~.remote_errors.ObjectChanged`
  before the reader reports its end.

botocore and aiohttp errors are converted to :mod:`.remote_errors` here, once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Self

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from anyio.abc import AsyncResource
from botocore import UNSIGNED
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    FlexibleChecksumError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
)

from ..client.redact import redact
from ..fs import Selection
from .remote import Skipped
from .remote_errors import (
    LocationError,
    ObjectChanged,
    ObjectDenied,
    ObjectError,
    ObjectNotFound,
    SourceConfigError,
    SourceError,
    SourceUnavailable,
)
from .resume import DEFAULT_MAX_RESUMES, BodyBroken, ResumingReader, check_resumed_range

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "S3Location",
    "S3Object",
    "S3Options",
    "S3Source",
]

#: Keys per ``ListObjectsV2`` page: S3's maximum, so a 40 TB bucket takes the fewest requests.
DEFAULT_PAGE_SIZE: Final = 1000

_SCHEME: Final = "s3://"
#: The largest code point: ``dir/`` followed by it sorts after (nearly) every key below ``dir/``.
_LAST_CHAR: Final = "\U0010ffff"
# Loose on purpose: S3-compatible stores accept names AWS does not (upper case,
# underscores); what is refused here could never name a bucket anywhere.
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")

# Error codes that mean "these credentials are wrong" wherever they appear.
_CREDENTIAL_CODES: Final = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
    "TokenRefreshRequired", "AuthorizationHeaderMalformed", "InvalidClientTokenId",
})
_THROTTLE_CODES: Final = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
    "TooManyRequests", "RequestTimeout", "ServiceUnavailable", "InternalError",
})
_CONFIG_ERRORS = (
    NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, ProfileNotFound,
    NoRegionError, ParamValidationError,
)


@dataclass(frozen=True, slots=True)
class S3Location:
    """``s3://bucket/prefix``: a bucket, and a key prefix (empty for the whole bucket)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> S3Location:
        """Parse ``s3://bucket[/prefix]``; raises :class:`LocationError` with the reason.

        Everything after the bucket is the key prefix, verbatim: ``?``, ``#``,
        ``%`` and spaces are legal in keys, so nothing is URL-decoded.
        """
        if not text.startswith(_SCHEME):
            raise LocationError(f"{text!r} is not an s3:// location (s3://bucket/prefix)")
        bucket, _, prefix = text[len(_SCHEME):].partition("/")
        if not bucket:
            raise LocationError(f"{text!r} names no bucket (s3://bucket/prefix)")
        if not _BUCKET.fullmatch(bucket):
            raise LocationError(f"{text!r}: {bucket!r} cannot be a bucket name")
        if len(prefix.encode("utf-8", "surrogatepass")) > 1024:
            raise LocationError(f"{text!r}: the prefix is longer than S3's 1024-byte key limit")
        return cls(bucket, prefix)

    def __str__(self) -> str:
        return f"{_SCHEME}{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class S3Object:
    """One object as listed: a :class:`~.remote.RemoteObject`.

    ``rel`` is the key below the location's prefix (what the selection's globs
    were matched against); ``version`` is None unless a GET or the caller's
    journal supplied one (``ListObjectsV2`` does not give versions).
    """

    bucket: str
    key: str
    size: int
    etag: str | None
    last_modified: datetime | None = None
    version: str | None = None
    rel: str = ""

    @property
    def url(self) -> str:
        """``s3://bucket/key``, the key verbatim (as the AWS CLI prints it)."""
        return f"{_SCHEME}{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach the store. None means "as botocore's configuration chain says".

    ``profile`` picks a ``~/.aws`` profile (else ``AWS_PROFILE``, else the
    default chain); ``endpoint_url`` points at an S3-compatible store;
    ``path_style`` addresses ``endpoint/bucket/key`` rather than
    ``bucket.endpoint/key`` (most self-hosted stores need it); ``anonymous``
    sends unsigned requests, for public buckets. ``max_attempts`` counts
    botocore's attempts per request; ``max_resumes`` the resumes of one
    object's broken body. ``confirm_at_end`` costs one ``HEAD`` per object and
    is what catches an object overwritten while it was read.
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    path_style: bool = False
    anonymous: bool = False
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_pool_connections: int = 16
    page_size: int = DEFAULT_PAGE_SIZE
    max_resumes: int = DEFAULT_MAX_RESUMES
    confirm_at_end: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 1000:
            raise LocationError("the S3 page size must be between 1 and 1000")
        if self.max_attempts < 1:
            raise LocationError("max_attempts must be at least 1")

    def client_config(self) -> AioConfig:
        """The botocore configuration these options mean."""
        return AioConfig(
            # "standard": retries 5xx, SlowDown and throttles, resets and
            # timeouts, with full-jitter backoff and a client-wide retry quota.
            retries={"mode": "standard", "max_attempts": self.max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=self.max_pool_connections,
            s3={"addressing_style": "path" if self.path_style else "auto"},
            signature_version=UNSIGNED if self.anonymous else None,
            # The bytes are content-addressed and checked against the listed
            # ETag; ranged resumes could not be checked against a whole-object
            # checksum anyway, so botocore's extra CRC pass is not asked for.
            response_checksum_validation="when_required",
            request_checksum_calculation="when_required",
        )


class _S3Body:
    """An aiobotocore GET body as a :class:`~.resume.Body`: transport failures become breaks."""

    def __init__(self, body: Any, url: str) -> None:
        self._body = body
        self._url = url

    async def read(self, n: int) -> bytes:
        try:
            data: bytes = await self._body.read(n)
        except FlexibleChecksumError as exc:
            raise SourceUnavailable(f"{self._url}: {exc}", url=self._url) from exc
        except (HTTPClientError, IncompleteReadError, aiohttp.ClientError, OSError,
                TimeoutError) as exc:
            raise BodyBroken(redact(f"{type(exc).__name__}: {exc}")) from exc
        return data

    def close(self) -> None:
        self._body.close()


def _convert(exc: Exception, url: str, *, per_object: bool) -> SourceError:
    """The :mod:`.remote_errors` class for a botocore error met while reading ``url``.

    ``per_object`` says the request was about one object (GET, HEAD), so a
    refusal concerns that object; for a listing it concerns the whole source.
    """
    if isinstance(exc, ClientError):
        return _convert_answer(exc, url, per_object=per_object)
    if isinstance(exc, _CONFIG_ERRORS):
        return SourceConfigError(f"{url}: {redact(str(exc))}", url=url)
    if isinstance(exc, HTTPClientError | IncompleteReadError | aiohttp.ClientError | OSError):
        return SourceUnavailable(f"{url}: {redact(str(exc))}", url=url)
    if isinstance(exc, BotoCoreError | ValueError):
        # Configuration botocore could not use (an invalid endpoint, say).
        return SourceConfigError(f"{url}: {redact(str(exc))}", url=url)
    raise TypeError(f"not a source error: {type(exc).__name__}") from exc


# (test on the answer's status and code, what it becomes), first match wins.
_Test = Callable[[int, str], bool]
_ANSWER_RULES: tuple[tuple[_Test, type[SourceError], str], ...] = (
    (lambda s, c: s == 412 or c == "PreconditionFailed", ObjectChanged,
     "changed since it was listed (ETag differs)"),
    (lambda s, c: s == 416 or c == "InvalidRange", ObjectChanged,
     "shorter than when it was listed"),
    (lambda s, c: c == "NoSuchBucket", SourceConfigError, "no such bucket"),
    (lambda s, c: c in _CREDENTIAL_CODES, SourceConfigError,
     "the credentials were refused: {said}"),
    (lambda s, c: s >= 500 or s == 429 or c in _THROTTLE_CODES, SourceUnavailable,
     "{said} ({code})"),
)
# For a request about one object only (GET, HEAD).
_OBJECT_RULES: tuple[tuple[_Test, type[SourceError], str], ...] = (
    (lambda s, c: s == 404 or c in ("NoSuchKey", "NotFound"), ObjectNotFound,
     "no longer exists"),
    (lambda s, c: s in (401, 403), ObjectDenied, "access denied: {said}"),
    (lambda s, c: True, ObjectError, "{said} ({code})"),
)


def _convert_answer(exc: ClientError, url: str, *, per_object: bool) -> SourceError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    said = redact(str(error.get("Message") or code or f"HTTP {status}"))
    rules = _ANSWER_RULES + (_OBJECT_RULES if per_object else ())
    for test, cls, text in rules:
        if test(status, code):
            return cls(f"{url}: " + text.format(said=said, code=code or status), url=url)
    # A listing refused: every object of the source would be.
    return SourceConfigError(f"{url}: {said} ({code or status})", url=url)


_BOTO_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, OSError)


class S3Source(AsyncResource):
    """One S3 client, shared by every listing and read of a run.

    Use as ``async with S3Source(options) as s3:``; the client (and its
    connection pool) is closed on exit.
    """

    def __init__(self, options: S3Options | None = None) -> None:
        self.options = options or S3Options()
        self._stack = AsyncExitStack()
        self._client: S3Client | None = None

    async def __aenter__(self) -> Self:
        opts = self.options
        where = opts.endpoint_url or "S3"
        try:
            session = AioSession(profile=opts.profile)
            self._client = await self._stack.enter_async_context(
                session.create_client(
                    "s3",
                    region_name=opts.region,
                    endpoint_url=opts.endpoint_url,
                    config=opts.client_config(),
                )
            )
        except (BotoCoreError, ValueError) as exc:
            raise _convert(exc, where, per_object=False) from exc
        return self

    async def aclose(self) -> None:
        """Close the S3 client; the source cannot be reused."""
        self._client = None
        await self._stack.aclose()

    @property
    def client(self) -> S3Client:
        """The aiobotocore client (for callers that need another S3 call)."""
        if self._client is None:
            raise RuntimeError("S3Source used outside 'async with'")
        return self._client

    # -- listing --

    async def list_objects(
        self,
        location: S3Location,
        selection: Selection | None = None,
        *,
        page_size: int | None = None,
    ) -> AsyncIterator[S3Object | Skipped]:
        """The objects under ``location`` that ``selection`` takes, page by page, in key order.

        A prefix not ending in ``/`` names a "directory" (``s3://b/photos``
        lists ``photos/...``, not ``photos2/...``) unless an object has exactly
        that key, which is then the only object listed, as a file PATH is.
        Directory markers (keys ending in ``/`` with no bytes) come out as
        :class:`~.remote.Skipped`, once across all shards.
        """
        selection = selection or Selection()
        size = page_size or self.options.page_size
        prefix = location.prefix
        if prefix and not prefix.endswith("/"):
            single = await self._exact(location)
            if single is not None:
                if selection.takes(single.rel.encode(), single.size, single.key.encode()):
                    yield single
                return
            prefix += "/"
        url = str(location)
        after: str | None = None
        try:
            while True:
                request: dict[str, Any] = {"Bucket": location.bucket, "Prefix": prefix,
                                           "PaginationConfig": {"PageSize": size}}
                if after is not None:
                    request["StartAfter"] = after
                pages = self.client.get_paginator("list_objects_v2").paginate(**request)
                after = None
                async for page in pages:
                    contents = page.get("Contents", [])
                    for entry in contents:
                        item = self._listed(location.bucket, prefix, entry, selection)
                        if item is not None:
                            yield item
                    after = _skip_past(prefix, contents, selection) \
                        if page.get("IsTruncated") else None
                    if after is not None:
                        break
                if after is None:
                    return
        except _BOTO_ERRORS as exc:
            raise _convert(exc, url, per_object=False) from exc

    @staticmethod
    def _listed(
        bucket: str, prefix: str, entry: Any, selection: Selection
    ) -> S3Object | Skipped | None:
        key: str = entry["Key"]
        size = int(entry.get("Size", 0))
        rel = key[len(prefix):]
        shard = selection.shard
        if key.endswith("/") and size == 0:
            if _pruned(rel, selection) is not None:
                return None  # inside an excluded "directory", or that directory itself
            if shard is None or shard.takes(key.encode()):
                return Skipped(f"{_SCHEME}{bucket}/{key}", "directory marker", 0)
            return None
        if not selection.takes(rel.encode(), size, key.encode()) \
                or _pruned(rel, selection) is not None:
            return None
        return S3Object(
            bucket=bucket,
            key=key,
            size=size,
            etag=entry.get("ETag"),
            last_modified=entry.get("LastModified"),
            rel=rel,
        )

    async def _exact(self, location: S3Location) -> S3Object | None:
        """The object whose key is exactly the prefix, if there is one."""
        key = location.prefix
        try:
            head = await self.client.head_object(Bucket=location.bucket, Key=key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            # 403: without s3:ListBucket, S3 answers 403 for a missing key too.
            if status in (403, 404):
                return None
            raise _convert(exc, str(location), per_object=False) from exc
        except _BOTO_ERRORS as exc:
            raise _convert(exc, str(location), per_object=False) from exc
        return S3Object(
            bucket=location.bucket,
            key=key,
            size=int(head.get("ContentLength", 0)),
            etag=head.get("ETag"),
            last_modified=head.get("LastModified"),
            version=head.get("VersionId"),
            rel=key.rsplit("/", 1)[-1],
        )

    # -- reading --

    @asynccontextmanager
    async def open_object(self, obj: S3Object) -> AsyncIterator[ResumingReader]:
        """A reader of ``obj``'s bytes, refused if it is not (or stops being) the object listed.

        Raises :class:`~.remote_errors.ObjectChanged`,
        :class:`~.remote_errors.ObjectNotFound`,
        :class:`~.remote_errors.ObjectDenied` or
        :class:`~.remote_errors.SourceUnavailable`, on opening or from ``read``.
        """
        body, seen = await self._get(obj, 0)
        # What the first GET said fills what the listing did not (a version id);
        # resumes and the final check then hold the object to it.
        current = replace(obj, etag=obj.etag or seen.etag, version=obj.version or seen.version)

        async def reopen(offset: int) -> _S3Body:
            resumed, _ = await self._get(current, offset)
            return resumed

        async def confirm() -> None:
            await self._confirm(current)

        reader = ResumingReader(
            current,
            body,
            size=obj.size,
            reopen=reopen,
            confirm=confirm if self.options.confirm_at_end else None,
            max_resumes=self.options.max_resumes,
        )
        try:
            yield reader
        finally:
            reader.close()

    async def _get(self, obj: S3Object, offset: int) -> tuple[_S3Body, S3Object]:
        """GET ``obj`` from ``offset``, held to its ETag; returns the body and what it said."""
        url = obj.url
        request: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.etag:
            request["IfMatch"] = obj.etag
        if offset:
            request["Range"] = f"bytes={offset}-"
        try:
            answer = await self.client.get_object(**request)
        except _BOTO_ERRORS as exc:
            raise _convert(exc, url, per_object=True) from exc
        body = _S3Body(answer["Body"], url)
        seen = replace(obj, etag=answer.get("ETag"), version=answer.get("VersionId"))
        try:
            _check_answer(obj, seen, offset, answer)
        except BaseException:
            body.close()
            raise
        return body, seen

    async def _confirm(self, obj: S3Object) -> None:
        """After the last byte: is the object still the one that was read?"""
        url = obj.url
        request: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.etag:
            request["IfMatch"] = obj.etag
        try:
            head = await self.client.head_object(**request)
        except _BOTO_ERRORS as exc:
            error = _convert(exc, url, per_object=True)
            if isinstance(error, ObjectChanged | ObjectNotFound):
                raise ObjectChanged(
                    f"{url}: changed or deleted while it was read", url=url
                ) from exc
            raise error from exc
        now = replace(obj, etag=head.get("ETag"), version=head.get("VersionId"))
        _check_same(obj, now, url)
        if int(head.get("ContentLength", -1)) != obj.size:
            raise ObjectChanged(f"{url}: changed size while it was read", url=url)


def _pruned(rel: str, selection: Selection) -> str | None:
    """The "directory" above the key that an exclude takes out, as a local walk prunes one.

    ``--exclude cache`` leaves out a tree's ``photos/cache/a.jpg`` because it
    matches the directory; a key's directories are its ``/``-separated prefixes.
    """
    if not selection.exclude:
        return None
    parts = rel.split("/")[:-1]
    for i in range(len(parts)):
        directory = "/".join(parts[:i + 1])
        if selection.prunes(directory.encode()):
            return directory
    return None


def _skip_past(prefix: str, contents: list[Any], selection: Selection) -> str | None:
    """Where to list from when a page ends inside an excluded "directory" (None: go on).

    S3 lists keys in UTF-8 order, so every key below ``dir/`` sorts before
    ``dir/`` + U+10FFFF (the largest code point) but for keys that themselves
    start so, which are listed and left out one by one: one request jumps
    over an excluded subtree of any size, where paging through it costs one
    request per 1,000 keys. A listing with a delimiter would not do: it costs
    a request per directory of the trees that are taken.
    """
    if not contents:
        return None
    last: str = contents[-1]["Key"]
    directory = _pruned(last[len(prefix):], selection)
    if directory is None:
        return None
    after = f"{prefix}{directory}/{_LAST_CHAR}"
    return after if after > last else None  # never back to keys already listed


def _check_answer(obj: S3Object, seen: S3Object, offset: int, answer: Any) -> None:
    """Raise :class:`ObjectChanged` unless a GET from ``offset`` is the rest of ``obj``."""
    url = obj.url
    _check_same(obj, seen, url)
    length = int(answer.get("ContentLength", -1))
    if length != obj.size - offset:
        raise ObjectChanged(
            f"{url}: {length} bytes from byte {offset}, but {obj.size} were listed", url=url
        )
    if offset:
        check_resumed_range(url, answer.get("ContentRange"), offset, obj.size)


def _check_same(expected: S3Object, seen: S3Object, url: str) -> None:
    """Raise :class:`ObjectChanged` if ``seen`` is another ETag or version than ``expected``."""
    if expected.etag and seen.etag and expected.etag != seen.etag:
        raise ObjectChanged(
            f"{url}: ETag {seen.etag} is not the listed {expected.etag}", url=url
        )
    if expected.version and seen.version and expected.version != seen.version:
        raise ObjectChanged(
            f"{url}: version {seen.version} is not the listed {expected.version}", url=url
        )
