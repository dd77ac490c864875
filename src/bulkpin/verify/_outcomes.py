"""What a verification found: one of five outcomes, each a frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "Corrupt",
    "FailureKind",
    "GatewayFailure",
    "Incomplete",
    "Outcome",
    "Retrievable",
    "Unreachable",
    "WrongSize",
]

FailureKind = Literal[
    "timeout", "not-found", "server-error", "http-error", "connection", "invalid-answer"
]


@dataclass(frozen=True, slots=True)
class GatewayFailure:
    """Why one gateway gave no usable answer (after the retries the classifier allowed)."""

    gateway: str
    kind: FailureKind
    #: The HTTP status, when there was one.
    status: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Retrievable:
    """Every block of the DAG came from ``gateway`` and matched its CID."""

    cid: str
    gateway: str
    #: Seconds from sending the CAR request to its first block.
    ttfb: float
    bytes_per_second: float
    #: Bytes of blocks received (CAR and raw fallback), their framing excluded.
    bytes: int
    blocks: int
    #: The file's size as its root block states it (None for a directory).
    size: int | None
    #: Gateways tried before, and why they did not do.
    failures: tuple[GatewayFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class Incomplete:
    """Blocks no gateway tried could supply: ``missing`` (CIDs, the walk's order)."""

    cid: str
    gateway: str
    missing: tuple[str, ...]
    failures: tuple[GatewayFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class Corrupt:
    """``gateway`` sent ``block`` with bytes that do not match its CID (or are not UnixFS).

    Final: a gateway serving wrong bytes under a CID is the finding, not
    something to hide behind another gateway's good answer.
    """

    cid: str
    block: str
    gateway: str
    reason: str
    failures: tuple[GatewayFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class WrongSize:
    """The DAG is sound but its root says ``actual`` bytes where ``expected`` were expected."""

    cid: str
    gateway: str
    expected: int
    actual: int | None


@dataclass(frozen=True, slots=True)
class Unreachable:
    """No gateway answered usefully: one failure per gateway, in the order tried."""

    cid: str
    failures: tuple[GatewayFailure, ...]


Outcome: TypeAlias = Retrievable | Incomplete | Corrupt | WrongSize | Unreachable
