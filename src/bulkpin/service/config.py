"""The service's settings: one frozen dataclass, built by the CLI or by a caller.

Defaults live here and nowhere else; the CLI's help texts name these constants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from .faults import FaultPlan
from .gateway_faults import GatewayFaults

#: Loopback: the service is a development and test tool.
DEFAULT_HOST = "127.0.0.1"
#: Each job step (queued -> pinning -> pinned) takes half of this.
DEFAULT_JOB_DELAY = 0.2
#: Decoo's access tokens live two hours.
DEFAULT_TOKEN_TTL = 2 * 60 * 60
#: How long a pinByHash job looks for its content before it is failed.
DEFAULT_FETCH_TIMEOUT = 5.0
#: Decoo retries failed jobs for a day.
RETRY_WINDOW = 24 * 60 * 60
#: A request body that sends nothing for this long is abandoned (408).
DEFAULT_IDLE_TIMEOUT = 30.0
#: JSON bodies (pinByHash) are small; uploads are streamed and not bound by this.
JSON_BODY_MAX = 1 << 20
#: A request body slower than this (bytes per second, over each window below) is
#: abandoned (408): a slow link is fine, a trickle holding a connection is not.
DEFAULT_MIN_BODY_RATE = 1024
#: Seconds of waiting for a body over which its rate is judged.
DEFAULT_BODY_RATE_WINDOW = 10.0
#: A request's headers must be complete this many seconds after its first byte
#: (or after the connection opens); slower ones are closed (slowloris).
DEFAULT_HEADER_TIMEOUT = 30.0
#: An idle kept-alive connection is closed after this many seconds.
DEFAULT_KEEPALIVE_TIMEOUT = 75.0
#: Memory shared by large uploads for their extra stages (see stage_budget.py):
#: enough for four at full speed; more go on with one stage each.
DEFAULT_UPLOAD_MEMORY = 48 * 1024 * 1024

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_PER_UNIT = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
             "h": 3600.0, "hour": 3600.0}


def default_data_dir() -> Path:
    """Where the embedded service keeps its state unless told otherwise."""
    return Path(platformdirs.user_data_dir("bulkpin")) / "service"


def parse_rate_limit(text: str) -> float:
    """``"N/min"`` (also ``/s``, ``/h``) to requests per minute; ValueError if malformed."""
    m = _RATE.match(text)
    if not m:
        raise ValueError(f"rate limit {text!r} is not of the form N/min (or N/s, N/h)")
    per_minute = float(m.group(1)) * 60.0 / _PER_UNIT[m.group(2)]
    if per_minute <= 0:
        raise ValueError("rate limit must be positive")
    return per_minute


def parse_ports(text: str) -> tuple[int, ...]:
    """``"N[,N...]"`` to ports (0 = any free port); ValueError if malformed."""
    ports: list[int] = []
    for raw in text.split(","):
        piece = raw.strip()
        if not piece.isdigit() or not 0 <= int(piece) <= 65535:
            raise ValueError(f"{piece!r} is not a port number (0-65535)")
        ports.append(int(piece))
    return tuple(ports)


@dataclass(frozen=True)
class ServiceConfig:
    """Everything :class:`~bulkpin.service.LocalService` needs to run.

    Ports of 0 pick free ports; the URLs actually served are on the running
    service. ``advertise_host`` is the host name put into URLs (endpoint list,
    profile): by default ``host``, or loopback when ``host`` is a wildcard.
    """

    data_dir: Path = field(default_factory=default_data_dir)
    host: str = DEFAULT_HOST
    advertise_host: str | None = None
    cloud_port: int = 0
    endpoint_ports: tuple[int, ...] = (0,)
    job_delay: float = DEFAULT_JOB_DELAY
    token_ttl: float = DEFAULT_TOKEN_TTL
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_upload_size: int | None = None
    #: Bytes of extra upload stages held at once, across uploads.
    upload_memory: int = DEFAULT_UPLOAD_MEMORY
    #: Requests per minute and account; None: unlimited.
    rate_limit: float | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    fault_seed: int = 0
    #: Faults of the trustless gateway (missing or corrupt blocks...), seeded by ``fault_seed``.
    gateway_faults: GatewayFaults = field(default_factory=GatewayFaults)
    #: Serve from a data dir other users can write to (refused otherwise).
    allow_shared_data_dir: bool = False
    #: Bytes per second a request body must keep up (0: no minimum).
    min_body_rate: float = DEFAULT_MIN_BODY_RATE
    body_rate_window: float = DEFAULT_BODY_RATE_WINDOW
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT
    #: Open connections per listener; None: from the descriptor limit
    #: (:func:`~.connections.default_max_connections`).
    max_connections: int | None = None
    #: IPFS HTTP gateways' base URLs, where pin jobs fetch content the store lacks
    #: (checked by ``fetcher.parse_gateway``).
    gateways: tuple[str, ...] = ()
    #: Seconds to wait for another service to leave the data dir before refusing
    #: (:mod:`.data_dir_lock`).
    lock_wait: float = 0.0

    def __post_init__(self) -> None:
        if not self.endpoint_ports:
            raise ValueError("at least one endpoint port is needed")
        for name in ("job_delay", "fetch_timeout", "lock_wait"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("token_ttl", "idle_timeout", "body_rate_window", "header_timeout",
                     "keepalive_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_upload_size is not None and self.max_upload_size < 0:
            raise ValueError("max_upload_size must not be negative")
        if self.upload_memory < 0:
            raise ValueError("upload_memory must not be negative")
        if self.min_body_rate < 0:
            raise ValueError("min_body_rate must not be negative")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")

    @property
    def url_host(self) -> str:
        """The host part of every URL the service hands out."""
        host = self.advertise_host or self.host
        if host in ("0.0.0.0", "", "::"):  # noqa: S104 - a wildcard is not a URL host
            host = "127.0.0.1"
        return f"[{host}]" if ":" in host else host
