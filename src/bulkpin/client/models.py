"""Typed results, parsed tolerantly from the service's JSON.

We know the real service's answers only from its documents, so parsing accepts:

- bare bodies (``{"Count": 3, "Jobs": [...]}``) and bodies wrapped as
  ``{"Code": 200, "Msg": "Success", "Data": ...}``; a wrapper whose ``Code`` is
  an error status is turned into that error even under HTTP 200;
- numbers that arrive as strings (``"Count": "12"``);
- field names in any case (``PinHash``, ``pinHash``, ``pin_hash``);
- unknown extra fields (ignored) and unknown job statuses (kept, as
  :attr:`JobStatus.UNKNOWN`).

A missing required field raises :class:`~.errors.InvalidResponse` naming the
operation and the field.
"""

from __future__ import annotations

import enum
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidResponse, error_for_status

__all__ = [
    "Endpoint",
    "JobPage",
    "JobStatus",
    "Pin",
    "PinByHashResult",
    "PinJob",
    "PinPage",
    "PinResult",
    "best_job",
    "job_rank",
    "parse_access_token",
    "parse_endpoints",
    "parse_job_page",
    "parse_json",
    "parse_pin_by_hash",
    "parse_pin_file",
    "parse_pin_page",
    "unwrap",
]

_MISSING = object()


class JobStatus(enum.StrEnum):
    """A pin job's state: ``queued`` → ``pinning`` → ``pinned`` or ``failed``."""

    QUEUED = "queued"
    PINNING = "pinning"
    PINNED = "pinned"
    FAILED = "failed"
    #: A status the contract does not name; :attr:`PinJob.raw_status` has the text.
    UNKNOWN = "unknown"

    @property
    def active(self) -> bool:
        """Queued, pinning or pinned: content that needs no new upload."""
        return self in (JobStatus.QUEUED, JobStatus.PINNING, JobStatus.PINNED)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An upload Endpoint as the Cloud lists it."""

    name: str
    url: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class PinResult:
    """The outcome of :meth:`~.client.DecooClient.pin_file`."""

    cid: str
    #: Bytes of the file as read and uploaded.
    size: int
    #: The file's ``st_mtime_ns`` when it was read, for the caller's journal.
    mtime_ns: int
    #: The CID profile the CID was computed with.
    profile: str
    #: The Endpoint URL that took the upload.
    endpoint: str
    #: When the service says it pinned the file (None if it did not say).
    date: datetime | None = None
    #: The size the service reported (None if it did not say).
    service_size: int | None = None
    #: True when the answer was lost and an existing job for the CID was found
    #: instead of uploading again; :attr:`job_id` and :attr:`job_status` say which.
    recovered: bool = False
    job_id: str | None = None
    job_status: JobStatus | None = None
    #: HTTP attempts made, including a recovering ``pinJobs`` query's.
    attempts: int = 1
    #: The ``PinHash`` the service answered; a caller must not take a file as
    #: pinned when it differs from :attr:`cid` (the service pinned other bytes).
    pin_hash: str | None = None


@dataclass(frozen=True, slots=True)
class PinByHashResult:
    """The answer to ``pinByHash``: the job that will fetch the CID from the network."""

    cid: str
    job_id: str | None
    status: JobStatus
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class PinJob:
    """One pin job from ``pinJobs``."""

    id: str
    cid: str
    status: JobStatus
    raw_status: str = ""


#: Best first: when a CID has several jobs, the best one speaks for it.
_RANK: dict[JobStatus, int] = {
    JobStatus.PINNED: 0,
    JobStatus.PINNING: 1,
    JobStatus.QUEUED: 2,
    JobStatus.FAILED: 3,
    JobStatus.UNKNOWN: 4,
}


def job_rank(job: PinJob) -> int:
    """A sort key, best first: ``pinned``, ``pinning``, ``queued``, ``failed``, unknown."""
    return _RANK[job.status]


def best_job(jobs: Iterable[PinJob]) -> PinJob | None:
    """The job that speaks for a CID among ``jobs`` (the first of equals), or None.

    A CID can have several jobs (uploads sent again, a failure then a retry);
    the most advanced one says where its content stands.
    """
    return min(jobs, key=job_rank, default=None)


@dataclass(frozen=True, slots=True)
class Pin:
    """One pinned object from ``pinList``."""

    id: str
    cid: str
    size: int | None
    date: datetime | None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        """The name in the pin's metadata, if any."""
        value = self.metadata.get("name")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class JobPage:
    """One page of ``pinJobs``: ``count`` is the total matching the filter."""

    count: int
    jobs: Sequence[PinJob]


@dataclass(frozen=True, slots=True)
class PinPage:
    """One page of ``pinList``: ``count`` is the total matching the filter."""

    count: int
    pins: Sequence[Pin]


# -- low-level helpers -------------------------------------------------------------


# A listing parses a million objects with the same handful of keys.
@functools.lru_cache(maxsize=256)
def _norm(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


class _Fields:
    """Case- and separator-insensitive access to one JSON object's fields."""

    def __init__(self, obj: object, what: str, operation: str) -> None:
        if not isinstance(obj, Mapping):
            raise InvalidResponse(
                f"expected a JSON object for {what}, got {_kind(obj)}", operation=operation
            )
        self._by_norm = {_norm(str(k)): v for k, v in obj.items()}
        self._what = what
        self._operation = operation

    def get(self, *names: str, default: object = _MISSING) -> object:
        for name in names:
            value = self._by_norm.get(_norm(name), _MISSING)
            if value is not _MISSING and value is not None:
                return value
        if default is _MISSING:
            raise InvalidResponse(
                f"{self._what} has no {names[0]!r} field", operation=self._operation
            )
        return default

    def text(self, *names: str) -> str:
        value = self.opt_text(*names)
        if value is None:
            raise InvalidResponse(
                f"{self._what} has no {names[0]!r} field", operation=self._operation
            )
        return value

    def opt_text(self, *names: str) -> str | None:
        value = self.get(*names, default=None)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise InvalidResponse(
            f"{self._what}: {names[0]!r} should be text, got {_kind(value)}",
            operation=self._operation,
        )

    def integer(self, *names: str) -> int:
        return _to_int(self.get(*names), f"{self._what}: {names[0]!r}", self._operation)

    def opt_integer(self, *names: str) -> int | None:
        value = self.get(*names, default=None)
        if value is None or value == "":
            return None
        return _to_int(value, f"{self._what}: {names[0]!r}", self._operation)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _to_int(value: object, what: str, operation: str) -> int:
    if isinstance(value, bool):
        raise InvalidResponse(f"{what} should be a number, got a boolean", operation=operation)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if math.isfinite(number) and number.is_integer():
                return int(number)
    raise InvalidResponse(
        f"{what} should be a whole number, got {_kind(value)}", operation=operation
    )


def _to_datetime(value: object) -> datetime | None:
    """ISO 8601 text or a Unix time (seconds or milliseconds); None when unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _to_datetime(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _status(value: str) -> JobStatus:
    try:
        return JobStatus(value.strip().lower())
    except ValueError:
        return JobStatus.UNKNOWN


# -- bodies ------------------------------------------------------------------------


def parse_json(text: str | bytes, operation: str, *, status: int = 200) -> object:
    """Decode a body as JSON, or raise :class:`InvalidResponse`."""
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise InvalidResponse(
            f"the answer (HTTP {status}, {len(text)} bytes) is not JSON",
            operation=operation,
            status=status,
        ) from None


def unwrap(
    body: object, operation: str, *, url: str | None = None, renewable: bool = False
) -> object:
    """The payload of a body, bare or wrapped in ``{Code, Msg, Data}``.

    A wrapper with an error ``Code`` raises that error, even under HTTP 200.
    """
    if not isinstance(body, Mapping):
        return body
    fields = {_norm(str(k)): v for k, v in body.items()}
    has_code = "code" in fields
    has_wrapper_shape = has_code and ("msg" in fields or "message" in fields or "data" in fields)
    if has_wrapper_shape:
        try:
            code = _to_int(fields["code"], "Code", operation)
        except InvalidResponse:
            code = 200
        if code >= 400:
            message = fields.get("msg") or fields.get("message") or ""
            raise error_for_status(
                code, str(message), operation=operation, url=url, renewable=renewable
            )
    if "data" in fields and (has_code or "msg" in fields or len(fields) == 1):
        return fields["data"]
    return body


def parse_access_token(body: object, operation: str = "accessToken") -> str:
    """The token in ``{"Data": "<token>"}`` (or a bare string, or ``{"Data": {"token": ...}}``)."""
    data = unwrap(body, operation)
    if isinstance(data, str) and data.strip():
        return data.strip()
    if isinstance(data, Mapping):
        token = _Fields(data, "the access-token answer", operation).text(
            "accessToken", "token", "access_token"
        )
        if token.strip():
            return token.strip()
    raise InvalidResponse("the access-token answer holds no token", operation=operation)


def parse_endpoints(body: object, operation: str = "endpointList") -> list[Endpoint]:
    """The Endpoint list: a JSON array of ``{"id", "name", "apiHost"}``."""
    data = unwrap(body, operation)
    if isinstance(data, Mapping):
        # Some gateways wrap lists once more: {"Data": {"List": [...]}}.
        data = _Fields(data, "the endpoint list", operation).get("list", "endpoints", "items")
    if not isinstance(data, list):
        raise InvalidResponse(
            f"expected a list of endpoints, got {_kind(data)}", operation=operation
        )
    endpoints = []
    for item in data:
        f = _Fields(item, "an endpoint", operation)
        url = f.text("apiHost", "host", "url").strip().rstrip("/")
        name = f.opt_text("name") or url
        ident = f.opt_text("id") or None
        endpoints.append(Endpoint(name=name, url=url, id=ident))
    return endpoints


def parse_pin_file(
    body: object, operation: str = "pinFile"
) -> tuple[str, int | None, datetime | None]:
    """``(PinHash, PinSize, PinDate)`` from a ``pinFile`` answer."""
    f = _Fields(unwrap(body, operation), "the pinFile answer", operation)
    cid = f.text("PinHash", "cid", "hash")
    size = f.opt_integer("PinSize", "size")
    date = _to_datetime(f.get("PinDate", "date", default=None))
    return cid, size, date


def parse_pin_by_hash(body: object, operation: str = "pinByHash") -> PinByHashResult:
    """A ``pinByHash`` answer: ``{"HashToPin", "JobId", "JobStatus"}``."""
    f = _Fields(unwrap(body, operation), "the pinByHash answer", operation)
    raw = f.opt_text("JobStatus", "status") or "queued"
    return PinByHashResult(
        cid=f.text("HashToPin", "PinHash", "cid"),
        job_id=f.opt_text("JobId", "id") or None,
        status=_status(raw),
    )


def _parse_job(item: object, operation: str) -> PinJob:
    f = _Fields(item, "a pin job", operation)
    raw = f.text("Status", "JobStatus")
    return PinJob(
        id=f.text("Id", "JobId"),
        cid=f.text("PinHash", "HashToPin", "cid"),
        status=_status(raw),
        raw_status=raw,
    )


def _parse_pin(item: object, operation: str) -> Pin:
    if type(item) is dict:
        # Decoo's own spelling, every field of the expected type: read directly.
        # A listing of a large account parses a million of these; anything
        # else goes through the tolerant reader below.
        pin_id, cid, size, date, metadata = (item.get("Id"), item.get("PinHash"),
                                             item.get("PinSize"), item.get("PinDate"),
                                             item.get("Metadata"))
        if type(pin_id) is str and type(cid) is str and type(date) is str \
                and (size is None or type(size) is int) and type(metadata) is dict:
            return Pin(id=pin_id, cid=cid, size=size, date=_to_datetime(date),
                       metadata=dict(metadata))
    f = _Fields(item, "a pin", operation)
    metadata = f.get("Metadata", "decooMetadata", default={})
    if isinstance(metadata, str):
        # A JSON string, as it was sent in the multipart field.
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = {"name": metadata}
    if not isinstance(metadata, Mapping):
        metadata = {}
    return Pin(
        id=f.text("Id", "PinId"),
        cid=f.text("PinHash", "cid"),
        size=f.opt_integer("PinSize", "size"),
        date=_to_datetime(f.get("PinDate", "date", default=None)),
        metadata=dict(metadata),
    )


def _list(f: _Fields, name: str, operation: str) -> list[object]:
    items = f.get(name, default=[])
    if not isinstance(items, list):
        raise InvalidResponse(f"{name!r} should be a list, got {_kind(items)}", operation=operation)
    return items


def parse_job_page(body: object, operation: str = "pinJobs") -> JobPage:
    """A ``pinJobs`` page: ``{"Count", "Jobs": [...]}``."""
    f = _Fields(unwrap(body, operation), "the pinJobs answer", operation)
    jobs = [_parse_job(item, operation) for item in _list(f, "Jobs", operation)]
    return JobPage(count=f.integer("Count", "total"), jobs=jobs)


def parse_pin_page(body: object, operation: str = "pinList") -> PinPage:
    """A ``pinList`` page: ``{"Count", "Pins": [...]}``."""
    f = _Fields(unwrap(body, operation), "the pinList answer", operation)
    pins = [_parse_pin(item, operation) for item in _list(f, "Pins", operation)]
    return PinPage(count=f.integer("Count", "total"), pins=pins)
