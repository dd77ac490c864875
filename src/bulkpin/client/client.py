"""``DecooClient``: the async client for one Decoo account.

One aiohttp session per client (one per run), its connection pool sized to the
upload concurrency. Timeouts are per step (connect, each write of the body,
each read of the answer) and there is no total timeout, which a large upload on
a slow link would hit. TLS certificates are verified unless the caller turns
verification off explicitly, which is logged as a warning.

Every request goes through :meth:`DecooClient._exchange`, the boundary where
aiohttp, OS and timeout errors become :mod:`.errors` classes, and every
operation through :meth:`~.retry.RetryPolicy.call`, where :mod:`.retry` decides
what is tried again.

An upload whose answer was lost after its body was sent (the connection broke,
the answer was not JSON) may have been pinned. Before sending it again, the
client asks ``pinJobs?pin-hash=<cid>`` (:mod:`.recovery`); an existing
``queued``, ``pinning`` or ``pinned`` job is taken as the answer
(``PinResult.recovered``), so a lost answer never creates a second job.

The client runs on asyncio (aiohttp's loop); anyio code running on its asyncio
backend can use it directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import os
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Self, TypeVar

import aiohttp
import anyio
from anyio.abc import AsyncResource

from .. import __version__
from ..unixfs import DEFAULT_PROFILE, CidProfile
from .credentials import Credentials
from .endpoints import DEFAULT_FAILOVER_AFTER, EndpointSelector
from .errors import (
    ConfigurationError,
    DecooError,
    HTTPStatusError,
    InvalidResponse,
    convert_transport_error,
    error_for_status,
)
from .models import (
    Endpoint,
    JobPage,
    JobStatus,
    Pin,
    PinByHashResult,
    PinJob,
    PinPage,
    PinResult,
    best_job,
    parse_access_token,
    parse_endpoints,
    parse_job_page,
    parse_json,
    parse_pin_by_hash,
    parse_pin_file,
    parse_pin_page,
    unwrap,
)
from .multipart import (
    DEFAULT_CHUNK_SIZE,
    FileContent,
    MultipartUpload,
    ProgressCallback,
    ReaderOpener,
    ReadReport,
    Throttle,
    UploadBody,
    secret_text_length,
)
from .pin_file import OPERATION as PIN_FILE
from .pin_file import PinFileAttempts, check_pin_hash
from .recovery import LostAnswer
from .retry import Attempt, Decision, RetryPolicy, Sleep, Verdict, parse_retry_after
from .tokens import DEFAULT_RENEW_AFTER, AccessToken, TokenCache

__all__ = ["MAX_PAGE_SIZE", "DecooClient", "ExchangeObserver"]

#: Told of every exchange once it ends: its operation, seconds, HTTP status
#: (None: no answer, a timeout or a lost connection) and request body bytes.
#: The push pipeline's concurrency controller listens here.
ExchangeObserver = Callable[[str, float, "int | None", int], None]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The largest page ``pinJobs`` and ``pinList`` serve.
MAX_PAGE_SIZE: Final = 1000
#: Answers are small JSON documents; a longer one is not read to the end.
_MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
#: Bytes of a non-JSON error answer quoted in the exception.
_QUOTED_ERROR_BYTES: Final = 300

_SORTS: Final = frozenset({"ASC", "DESC"})


def _sort(value: str) -> str:
    sort = value.upper()
    if sort not in _SORTS:
        raise ValueError(f"sort must be 'ASC' or 'DESC', not {value!r}")
    return sort


def _page_params(sort: str, offset: int, limit: int) -> dict[str, str]:
    """The query of one page of a listing (pinJobs, pinList), checked against the contract."""
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise ValueError(f"limit must be 1..{MAX_PAGE_SIZE} and offset not negative")
    return {"sort": _sort(sort), "offset": str(offset), "limit": str(limit)}


def _status_param(status: JobStatus | str | None) -> str | None:
    if status is None:
        return None
    value = JobStatus(str(status).lower())
    if value is JobStatus.UNKNOWN:
        raise ValueError("cannot filter jobs by the 'unknown' status")
    return value.value


def _date_param(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _error_message(raw: bytes) -> str:
    """The service's error text: ``Message``/``Msg`` of a JSON body, else the start of it."""
    try:
        body = parse_json(raw, "error")
    except InvalidResponse:
        return raw[:_QUOTED_ERROR_BYTES].decode("utf-8", "replace")
    if isinstance(body, Mapping):
        fields = {str(k).lower(): v for k, v in body.items()}
        for key in ("message", "msg", "error", "detail"):
            if fields.get(key):
                return str(fields[key])
    return raw[:_QUOTED_ERROR_BYTES].decode("utf-8", "replace")


async def _read_answer(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body, up to :data:`_MAX_ANSWER_BYTES` (the rest is not read)."""
    pieces: list[bytes] = []
    size = 0
    while size < _MAX_ANSWER_BYTES:
        piece = await response.content.read(_MAX_ANSWER_BYTES - size)
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


def _ssl_context(ca_bundle: str | os.PathLike[str] | None, verify: bool) -> ssl.SSLContext | bool:
    if not verify:
        log.warning(
            "TLS certificate verification is OFF: anyone on the network path can read "
            "and alter uploads and credentials"
        )
        return False
    if ca_bundle is None:
        return True  # aiohttp's default: the system's trust store, verified
    try:
        return ssl.create_default_context(cafile=os.fspath(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot use CA bundle {os.fspath(ca_bundle)}: {exc}") from None


class DecooClient(AsyncResource):
    """An async client for the Decoo API, for one account.

    Use it as an async context manager, one per run::

        async with DecooClient(load_credentials(zone="global")) as client:
            result = await client.pin_file("photo.jpg")

    ``concurrency`` sizes the connection pool (the push pipeline passes its
    upload concurrency). ``connect_timeout`` bounds making a connection;
    ``read_timeout`` bounds each wait for the answer, and each wait for the
    service to accept more of a request body. ``endpoint`` (a name or URL)
    overrides the credentials' preference. ``retry`` sets attempts, backoff and
    the retry budget; ``clock`` (monotonic seconds), ``now`` (wall-clock time,
    for ``Retry-After`` dates), ``sleep`` and ``rng`` are injected by tests.
    ``verify_tls=False`` turns certificate checks off (logged as a warning);
    ``ca_bundle`` names extra trusted CAs.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        concurrency: int = 8,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        endpoint: str | None = None,
        retry: RetryPolicy | None = None,
        ca_bundle: str | os.PathLike[str] | None = None,
        verify_tls: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        failover_after: int = DEFAULT_FAILOVER_AFTER,
        failover: bool | None = None,
        token_renew_after: float = DEFAULT_RENEW_AFTER,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        user_agent: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self._credentials = credentials
        self._concurrency = concurrency
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._chunk_size = chunk_size
        self._clock = clock
        self._now = now or (lambda: datetime.now(UTC))
        policy = retry or RetryPolicy()
        changes: dict[str, Any] = {}
        if sleep is not None:
            changes["sleep"] = sleep
        if rng is not None:
            changes["rng"] = rng
        self.retry_policy: RetryPolicy = (
            dataclasses.replace(policy, **changes) if changes else policy
        )
        self._ssl = _ssl_context(ca_bundle, verify_tls)
        self._user_agent = user_agent or f"bulkpin/{__version__}"
        self._session: aiohttp.ClientSession | None = None
        #: Told of every exchange (see :data:`ExchangeObserver`); set by the pipeline.
        self.observer: ExchangeObserver | None = None
        # The Cloud's last ``Date`` header, parsed only when asked (server_time).
        self._cloud_date: str | None = None
        self._secret_length = secret_text_length(credentials.key_bits)
        self.tokens = TokenCache(self._buy_token, clock=clock, renew_after=token_renew_after)
        self.endpoint_selector = EndpointSelector(
            self.endpoints,
            self._probe,
            preference=endpoint if endpoint is not None else credentials.endpoint,
            failover_after=failover_after,
            failover=failover,
            reach=self._reach,
        )

    async def check_endpoint(self) -> str | None:
        """Before anything is sent: the Endpoint order, and whether a named one answers.

        See :meth:`~.endpoints.EndpointSelector.check`: raises
        :class:`ConfigurationError` for a wrong or silent named Endpoint without
        failover; returns a warning when failover moved away from it.
        """
        return await self.endpoint_selector.check()

    @property
    def server_time(self) -> datetime | None:
        """The Cloud's clock as its last answer's ``Date`` header gave it, if it sent one.

        The account index holds pin dates against it: a Cloud whose clock went
        back dates new pins before the ones it dated earlier.
        """
        if self._cloud_date is None:
            return None
        try:
            when = email.utils.parsedate_to_datetime(self._cloud_date)
        except (TypeError, ValueError):
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    @property
    def credentials(self) -> Credentials:
        """The account this client talks to (its repr shows no secret)."""
        return self._credentials

    def __repr__(self) -> str:
        state = "open" if self._session is not None else "closed"
        return f"DecooClient({self._credentials.cloud_url!r}, {state})"

    # -- lifetime ----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this DecooClient is already open")
        connector = aiohttp.TCPConnector(
            # Uploads hold `concurrency` connections; the Cloud calls made
            # meanwhile (tokens, job queries) get a few of their own.
            limit=self._concurrency + 4,
            limit_per_host=0,
            ssl=self._ssl,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=None,
                sock_connect=self._connect_timeout,
                sock_read=self._read_timeout,
            ),
            headers={"User-Agent": self._user_agent},
            raise_for_status=False,
            trust_env=False,
        )
        return self

    async def aclose(self) -> None:
        """Close the session and its connections; the client cannot be reused."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session; RuntimeError outside ``async with``."""
        if self._session is None:
            raise RuntimeError("use the client inside `async with DecooClient(...)`")
        return self._session

    # -- the boundary: one HTTP exchange ---------------------------------------------

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        body: UploadBody | None = None,
        renewable: bool = False,
        cloud: bool = False,
    ) -> object:
        """Send one request and return its JSON payload (unwrapped); raises :class:`DecooError`.

        The one place where aiohttp, OS and timeout errors are converted.
        """
        session = self.session
        started = self._clock()
        try:
            # A request with no file body is bounded whole (--timeout): a per-read
            # limit alone let an answer trickled a byte a second hold a listing
            # for ever. An upload's body may take hours; its answer is bounded
            # once the body is sent. One deadline a request either way, asyncio's
            # own, moved when the answer starts: anyio's generator-built scopes
            # were a few percent of a small file's client CPU.
            deadline = asyncio.timeout(
                self._connect_timeout + self._read_timeout if body is None else None)
            async with deadline:
                async with session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    if body is not None:
                        deadline.reschedule(asyncio.get_running_loop().time()
                                            + self._read_timeout)
                    raw = await _read_answer(response)
                status = response.status
                retry_after = response.headers.get("Retry-After")
                if cloud:
                    self._cloud_date = response.headers.get("Date", self._cloud_date)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            if body is not None and body.error is not None:
                # Our own body failed (the file changed, a read failed): that is
                # the error, not the connection aiohttp closed because of it.
                raise body.error from None
            sent = body.complete if body is not None else True
            if not isinstance(exc, aiohttp.ClientConnectorError):
                # Nothing listening (refused, no route) says nothing of load:
                # only a timeout or a cut connection is an overload signal.
                self._observe(operation, started, None, body)
            error = convert_transport_error(exc, operation=operation, url=url, request_sent=sent)
            log.debug("%s %s: %s", method, url, error.message)
            raise error from None
        log.debug("%s %s -> %d (%d bytes)", method, url, status, len(raw))
        self._observe(operation, started, status, body)
        if not 200 <= status < 300:
            raise error_for_status(
                status,
                _error_message(raw),
                operation=operation,
                url=url,
                retry_after=parse_retry_after(retry_after, self._now()),
                renewable=renewable,
            )
        try:
            return unwrap(
                parse_json(raw, operation, status=status), operation, url=url, renewable=renewable
            )
        except HTTPStatusError as exc:
            exc.http_status = status
            raise

    def _observe(self, operation: str, started: float, status: int | None,
                 body: UploadBody | None) -> None:
        if self.observer is not None:
            size = (body.size or 0) if body is not None else 0
            self.observer(operation, self._clock() - started, status, size)

    # -- Cloud routes ------------------------------------------------------------------

    def _cloud_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._credentials.api_key.reveal()}"}

    async def _cloud(
        self, method: str, path: str, operation: str, *, params: Mapping[str, str] | None = None
    ) -> object:
        url = self._credentials.cloud_url + path

        async def attempt(_: Attempt) -> object:
            return await self._exchange(
                method, url, operation=operation, headers=self._cloud_headers(), params=params,
                cloud=True,
            )

        return await self.retry_policy.call(operation, attempt)

    async def ping(self) -> float:
        """Check the Cloud and the API key; returns the round trip in seconds.

        Raises :class:`~.errors.AuthenticationError` if the key is refused.
        """
        started = self._clock()
        body = await self._cloud("GET", "/ping", "ping")
        if isinstance(body, Mapping):
            success = {str(k).lower(): v for k, v in body.items()}.get("success", True)
            if success is False or str(success).lower() == "false":
                raise InvalidResponse(
                    "the Cloud answered the ping with Success: false", operation="ping"
                )
        return self._clock() - started

    async def endpoints(self) -> list[Endpoint]:
        """The upload Endpoints the Cloud lists."""
        return parse_endpoints(await self._cloud("GET", "/endpoint/list", "endpointList"))

    async def _buy_token(self) -> str:
        return parse_access_token(await self._cloud("GET", "/oauth/accessToken", "accessToken"))

    async def access_token(self) -> AccessToken:
        """The current access token, bought or renewed if due."""
        return await self.tokens.get()

    async def pin_jobs_page(
        self,
        pin_hash: str | None = None,
        status: JobStatus | str | None = None,
        sort: str = "DESC",
        *,
        offset: int = 0,
        limit: int = MAX_PAGE_SIZE,
    ) -> JobPage:
        """One page of pin jobs, filtered by CID and status, sorted by date."""
        params = _page_params(sort, offset, limit)
        if pin_hash is not None:
            params["pin-hash"] = pin_hash
        if (wanted := _status_param(status)) is not None:
            params["status"] = wanted
        return parse_job_page(
            await self._cloud("GET", "/pinning/pinJobs", "pinJobs", params=params)
        )

    async def pin_jobs(
        self,
        pin_hash: str | None = None,
        status: JobStatus | str | None = None,
        sort: str = "DESC",
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[PinJob]:
        """Every matching pin job, fetched ``page_size`` at a time."""
        async for job in self._paged(
            lambda offset: self.pin_jobs_page(
                pin_hash, status, sort, offset=offset, limit=page_size
            ),
            lambda page: page.jobs,
        ):
            yield job

    async def pin_list_page(
        self,
        sort: str = "DESC",
        start_date: datetime | str | None = None,
        end_date: datetime | str | None = None,
        *,
        offset: int = 0,
        limit: int = MAX_PAGE_SIZE,
    ) -> PinPage:
        """One page of pinned objects, optionally between two dates (ISO 8601)."""
        params = _page_params(sort, offset, limit)
        if (start := _date_param(start_date)) is not None:
            params["start-date"] = start
        if (end := _date_param(end_date)) is not None:
            params["end-date"] = end
        return parse_pin_page(
            await self._cloud("GET", "/pinning/pinList", "pinList", params=params)
        )

    async def pin_list(
        self,
        sort: str = "DESC",
        start_date: datetime | str | None = None,
        end_date: datetime | str | None = None,
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Pin]:
        """Every pinned object, fetched ``page_size`` at a time."""
        async for pin in self._paged(
            lambda offset: self.pin_list_page(
                sort, start_date, end_date, offset=offset, limit=page_size
            ),
            lambda page: page.pins,
        ):
            yield pin

    async def _paged(
        self,
        fetch: Callable[[int], Awaitable[JobPage | PinPage]],
        items: Callable[[Any], Any],
    ) -> AsyncIterator[Any]:
        # Offset paging over a list that grows while it is read: in DESC order a
        # new item pushes older ones down a place, so the next page may repeat
        # the end of this one. Those repeats are skipped; with fewer than a
        # page's worth of arrivals, they are all on the previous page.
        offset = 0
        previous: set[str] = set()
        while True:
            page = await fetch(offset)
            batch = items(page)
            if not batch:
                return
            for item in batch:
                if item.id not in previous:
                    yield item
            previous = {item.id for item in batch}
            offset += len(batch)
            if offset >= page.count:
                return

    async def find_active_job(self, cid: str) -> PinJob | None:
        """The newest ``queued``, ``pinning`` or ``pinned`` job for ``cid``, if any.

        One query, whatever the number of jobs: a resumed run asks this before
        uploading content again.
        """
        page = await self.pin_jobs_page(pin_hash=cid, sort="DESC", limit=MAX_PAGE_SIZE)
        # Sorted newest first, so of equal jobs the newest is taken.
        best = best_job(job for job in page.jobs if job.cid == cid)
        return best if best is not None and best.status.active else None

    # -- Endpoint routes ---------------------------------------------------------------

    async def _touch(self, endpoint: Endpoint) -> BaseException | None:
        """One GET of ``endpoint``'s root, bounded by the connect timeout; its error, if any."""
        try:
            async with self.session.get(
                endpoint.url + "/",
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._connect_timeout),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return exc
        return None

    async def _probe(self, endpoint: Endpoint) -> float | None:
        """Seconds for one round trip to ``endpoint`` (any HTTP answer), or None."""
        started = self._clock()
        if await self._touch(endpoint) is not None:
            return None
        return self._clock() - started

    async def _reach(self, endpoint: Endpoint) -> str | None:
        """Why nothing is at ``endpoint`` (refused, no route), or None if something is.

        Any answer, even a cut or a late one, means an Endpoint is there: a
        flaky or slow link is the uploads' retries' and patience's business,
        not a wrong --endpoint; so is a certificate the uploads will refuse by
        name. A refusal is asked again once, a moment later (a service
        restarting).
        """
        why = None
        for attempt in range(2):
            if attempt:
                await anyio.sleep(0.5)
            failure = await self._touch(endpoint)
            if not isinstance(failure, aiohttp.ClientConnectorError) \
                    or isinstance(failure, aiohttp.ClientSSLError):
                return None
            why = failure.strerror or str(failure)
        return why

    async def _on_endpoint(
        self,
        operation: str,
        send: Callable[[Attempt, Endpoint, AccessToken], Awaitable[T]],
        *,
        before: Callable[[Attempt], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run an Endpoint operation: a fresh token and the current Endpoint per attempt.

        ``before`` runs first on every attempt and may return the answer without
        a request (a recovered upload). Failures feed Endpoint failover and, on a
        401, replace the token.
        """
        used: dict[str, Any] = {}

        def on_failure(exc: DecooError, verdict: Verdict) -> None:
            if exc.operation != operation or "endpoint" not in used:
                return  # a nested call's error: not this Endpoint's doing
            if verdict.endpoint_fault:
                self.endpoint_selector.record_failure(used["endpoint"])
            if verdict.decision is Decision.RENEW_TOKEN:
                self.tokens.invalidate(used["token"])

        async def attempt(state: Attempt) -> T:
            used.clear()
            if before is not None:
                early = await before(state)
                if early is not None:
                    return early
            token = await self.tokens.get()
            endpoint = await self.endpoint_selector.current()
            used.update(token=token, endpoint=endpoint)
            result = await send(state, endpoint, token)
            self.endpoint_selector.record_success(endpoint)
            return result

        return await self.retry_policy.call(operation, attempt, on_failure=on_failure)

    def _endpoint_headers(self, token: AccessToken) -> dict[str, str]:
        return {"UserAccessToken": token.value.reveal()}

    async def _post(
        self,
        endpoint: Endpoint,
        token: AccessToken,
        operation: str,
        parse: Callable[[object, str], T],
        *,
        body: UploadBody | None = None,
        json_body: object = None,
    ) -> T:
        """POST ``/pinning/<operation>`` to ``endpoint`` and parse the answer."""
        answer = await self._exchange(
            "POST",
            f"{endpoint.url}/pinning/{operation}",
            operation=operation,
            headers=self._endpoint_headers(token),
            body=body,
            json_body=json_body,
            renewable=True,
        )
        try:
            return parse(answer, operation)
        except InvalidResponse as exc:
            exc.status = 200  # the request was accepted; only its answer is unreadable
            raise

    async def pin_file(
        self,
        path: str | os.PathLike[str],
        *,
        cid: str | None = None,
        name: str | None = None,
        profile: CidProfile = DEFAULT_PROFILE,
        on_progress: ProgressCallback | None = None,
        verify: Callable[[ReadReport], None] | None = None,
        content: FileContent | None = None,
        throttle: Throttle | None = None,
    ) -> PinResult:
        """Upload one file to the current Endpoint and pin it.

        With ``cid`` given, the body is fully known in advance; without, the CID
        is computed (with ``profile``) while the file streams, and the ``cid``
        and ``secret`` parts follow it. ``name`` goes into ``decooMetadata``.
        ``on_progress`` receives byte deltas as the file is sent, negative when
        a failed attempt is rewound: on success the deltas add up to the file's
        size, on failure to zero. ``verify`` sees what was read before the
        ``cid`` part is sent and may raise to abandon the upload. ``content``,
        the file already read whole by the caller, is sent from memory (``path``
        then only names the file). ``throttle``, if given, is awaited with each
        piece's byte count before the piece is sent, on every attempt (a
        bandwidth limit shared by all uploads).

        Raises :class:`~.errors.LocalFileError` (including
        :class:`~.errors.FileChangedError`, and
        :class:`~.errors.PinHashMismatch` when the service answers a ``PinHash``
        other than the file's CID), an :class:`~.errors.HTTPStatusError`
        subclass, :class:`~.errors.TransportError` or
        :class:`~.errors.OutcomeUnknown`.
        """
        return await self._pin(MultipartUpload(
            path, sign=self._credentials.sign, secret_length=self._secret_length, cid=cid,
            name=name, profile=profile, chunk_size=self._chunk_size, on_progress=on_progress,
            verify=verify, stall_timeout=self._read_timeout, content=content, throttle=throttle,
        ))

    async def pin_stream(
        self,
        open_reader: ReaderOpener,
        *,
        size: int | None,
        filename: str,
        cid: str | None = None,
        name: str | None = None,
        profile: CidProfile = DEFAULT_PROFILE,
        on_progress: ProgressCallback | None = None,
        throttle: Throttle | None = None,
    ) -> PinResult:
        """Upload the bytes ``open_reader()`` yields (opened again per attempt) and pin them.

        An s3:// object or a URL, streamed straight into the body. ``size``
        gives an exact ``Content-Length`` (None: a chunked request). The CID is
        computed while the bytes are sent and must equal ``cid`` if given.
        ``on_progress`` and ``throttle`` are :meth:`pin_file`'s. Raises what
        :meth:`pin_file` raises, and the reader's own errors.
        """
        return await self._pin(MultipartUpload(
            filename or "file", open_reader=open_reader, size=size,
            sign=self._credentials.sign, secret_length=self._secret_length, cid=cid,
            name=name, profile=profile, chunk_size=self._chunk_size, on_progress=on_progress,
            stall_timeout=self._read_timeout, throttle=throttle,
        ))

    async def _pin(self, upload: MultipartUpload) -> PinResult:
        """One upload across its attempts (:mod:`.pin_file`), on the current Endpoint."""

        async def send_body(
            endpoint: Endpoint, token: AccessToken, body: UploadBody
        ) -> tuple[str, int | None, datetime | None]:
            return await self._post(endpoint, token, PIN_FILE, parse_pin_file, body=body)

        attempts = PinFileAttempts(upload, send_body, LostAnswer(PIN_FILE, self.find_active_job))
        result = await self._on_endpoint(PIN_FILE, attempts.send, before=attempts.before)
        return check_pin_hash(result)

    async def pin_by_hash(self, cid: str, name: str | None = None) -> PinByHashResult:
        """Ask the service to fetch ``cid`` from the IPFS network and pin it."""
        operation = "pinByHash"
        lost = LostAnswer(operation, self.find_active_job)
        payload: dict[str, Any] = {"hashToPin": cid, "secret": self._credentials.sign(cid)}
        if name is not None:
            payload["decooMetadata"] = {"name": name}

        async def before(state: Attempt) -> PinByHashResult | None:
            job = await lost.recover(cid)
            if job is None:
                return None
            return PinByHashResult(cid=cid, job_id=job.id, status=job.status, recovered=True)

        async def send(state: Attempt, endpoint: Endpoint, token: AccessToken) -> PinByHashResult:
            try:
                return await self._post(
                    endpoint, token, operation, parse_pin_by_hash, json_body=payload
                )
            except DecooError as exc:
                lost.failed(exc, request_complete=True)
                raise

        return await self._on_endpoint(operation, send, before=before)
