"""The Decoo API client: credentials, access tokens, Endpoints, signed streaming uploads.

::

    from bulkpin.client import DecooClient, load_credentials

    async with DecooClient(load_credentials(zone="global")) as client:
        result = await client.pin_file("photo.jpg")
        async for job in client.pin_jobs(status="pinned"):
            ...

Modules, one job each: :mod:`.errors` (the exception hierarchy, drawn in its
docstring), :mod:`.retry` (the classifier, backoff and retry budget),
:mod:`.models` (typed, tolerantly parsed results), :mod:`.credentials`,
:mod:`.tokens`, :mod:`.endpoints`, :mod:`.multipart` (the streaming upload body),
:mod:`.pin_file` (one upload's attempts), :mod:`.recovery` (lost-answer recovery),
:mod:`.redact` (no secret in any output) and :mod:`.client` (``DecooClient``).
"""

from .client import MAX_PAGE_SIZE, DecooClient, ExchangeObserver
from .credentials import ZONES, Credentials, default_profile_path, load_credentials, zone_url
from .endpoints import EndpointSelector
from .errors import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    ConnectError,
    ConnectionBroken,
    ConnectTimeout,
    ContentMismatch,
    DecooError,
    FileChangedError,
    Forbidden,
    HTTPStatusError,
    InsecureFileError,
    InvalidResponse,
    LocalFileError,
    OutcomeUnknown,
    PayloadTooLarge,
    PinHashMismatch,
    RateLimited,
    ReadTimeout,
    RequestTimeout,
    ServerError,
    TLSError,
    TransportError,
    WriteTimeout,
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
    job_rank,
)
from .multipart import DEFAULT_CHUNK_SIZE, FileContent, ProgressCallback, ReadReport
from .redact import RedactingFilter, Secret, redact
from .retry import (
    Decision,
    Fate,
    ItemVerdict,
    RetryBudget,
    RetryPolicy,
    Verdict,
    classify,
    classify_item,
    full_jitter,
)
from .tokens import AccessToken

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_PAGE_SIZE",
    "ZONES",
    "AccessToken",
    "AuthenticationError",
    "BadRequest",
    "ConfigurationError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionBroken",
    "ContentMismatch",
    "Credentials",
    "Decision",
    "DecooClient",
    "DecooError",
    "Endpoint",
    "EndpointSelector",
    "ExchangeObserver",
    "Fate",
    "FileChangedError",
    "FileContent",
    "Forbidden",
    "HTTPStatusError",
    "InsecureFileError",
    "InvalidResponse",
    "ItemVerdict",
    "JobPage",
    "JobStatus",
    "LocalFileError",
    "OutcomeUnknown",
    "PayloadTooLarge",
    "Pin",
    "PinByHashResult",
    "PinHashMismatch",
    "PinJob",
    "PinPage",
    "PinResult",
    "ProgressCallback",
    "RateLimited",
    "ReadReport",
    "ReadTimeout",
    "RedactingFilter",
    "RequestTimeout",
    "RetryBudget",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "TLSError",
    "TransportError",
    "Verdict",
    "WriteTimeout",
    "best_job",
    "classify",
    "classify_item",
    "default_profile_path",
    "full_jitter",
    "job_rank",
    "load_credentials",
    "redact",
    "zone_url",
]
