"""What every run that moves things to an account is told, with its defaults, in one place.

``push`` (:class:`~.options.PushOptions`) and ``pin``
(:class:`~bulkpin.migrate.PinOptions`) add only what is their own (what to
read, how many in flight); the journal, the manifest, the dry run, the
account listing and how jobs are followed are these, with these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

__all__ = [
    "DEFAULT_PATIENCE", "DEFAULT_POLL_INTERVAL", "DEFAULT_POLL_MAX_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT", "ListingOptions", "MoveOptions",
]

#: Seconds a job may stay failed (or every job make no progress) before giving up.
DEFAULT_WAIT_TIMEOUT: Final = 600.0
#: Seconds the service may be unreachable before the run stops (exit 3).
DEFAULT_PATIENCE: Final = 300.0
#: Seconds of the first and of the longest pause between polling rounds.
DEFAULT_POLL_INTERVAL: Final = 1.0
DEFAULT_POLL_MAX_INTERVAL: Final = 30.0


@dataclass(frozen=True, slots=True)
class MoveOptions:
    """How a run that moves items to an account goes (the fields every kind shares)."""

    #: Items started per second: uploads, ``pinByHash`` requests (None: unlimited).
    rate_limit: float | None = None
    #: Keep polling after the last item is sent until every job is final.
    wait: bool = True
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    patience: float = DEFAULT_PATIENCE
    journal: Path | None = None
    manifest: Path | None = None
    #: Read the journal and the account, say what would be sent; send nothing.
    dry_run: bool = False
    poll_interval: float = DEFAULT_POLL_INTERVAL
    poll_max_interval: float = DEFAULT_POLL_MAX_INTERVAL
    #: List the account's pins and unfinished jobs first, so nothing it holds is
    #: sent again (:mod:`~.account_index`); off for accounts too big to list.
    list_account: bool = True


class ListingOptions(Protocol):
    """What listing the account needs of a run's options (push's and pin's both have it)."""

    @property
    def list_account(self) -> bool: ...
    @property
    def patience(self) -> float: ...
