"""Everything a ``bulkpin pin`` run can be told, with its defaults, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ..fs import Shard

__all__ = ["DEFAULT_PIN_CONCURRENCY", "PinOptions"]

#: ``pinByHash`` requests in flight by default. A request carries a CID, not
#: bytes: the bound is the service's patience, not bandwidth; Decoo rate-limits
#: with 429 (honoured) beyond what it accepts.
DEFAULT_PIN_CONCURRENCY: Final = 16


@dataclass(frozen=True, slots=True)
class PinOptions:
    """How a ``pin`` run goes. The CLI builds one from its flags."""

    concurrency: int = DEFAULT_PIN_CONCURRENCY
    #: ``pinByHash`` requests started per second (None: unlimited)
    rate_limit: float | None = None
    #: Take only the CIDs of this share (by a hash of the CID).
    shard: Shard | None = None
    #: Keep polling after the last request until every job is final.
    wait: bool = True
    #: How long a job may stay failed (or all jobs make no progress) before giving up.
    wait_timeout: float = 600.0
    #: How long the service may be unreachable before the run stops (exit 3).
    patience: float = 300.0
    journal: Path | None = None
    manifest: Path | None = None
    #: List and check the source, record it in the journal; request nothing.
    dry_run: bool = False
    #: First and longest pause between polling rounds.
    poll_interval: float = 1.0
    poll_max_interval: float = 30.0
    #: List the account's pins and unfinished jobs first, so nothing it holds is
    #: requested again (see :mod:`bulkpin.push.account_index`).
    list_account: bool = True
