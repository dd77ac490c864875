"""Everything a ``bulkpin verify`` run can be told, with its defaults, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

from ._sample import Sample
from ._verify import DEFAULT_TIMEOUT

__all__ = ["DEFAULT_GATEWAYS", "DEFAULT_VERIFY_CONCURRENCY", "VerifyOptions"]

#: Public trustless gateways (CAR and raw-block answers), tried in this order
#: when no gateway is named. Each check goes to the next only when one fails.
DEFAULT_GATEWAYS: Final = (
    "https://trustless-gateway.link",
    "https://ipfs.io",
    "https://dweb.link",
)

#: CIDs checked at once by default. A check streams a whole DAG from a public
#: gateway: the bound is the gateways' goodwill, not our memory (each check
#: keeps only CIDs).
DEFAULT_VERIFY_CONCURRENCY: Final = 8


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """How a verification run goes. The CLI builds one from its flags.

    It is also the lifecycle's :class:`~bulkpin.core.lifecycle.RunOptions`: a
    verification talks to no Decoo account, so it never lists one, is never a
    dry run and follows no jobs.
    """

    gateways: tuple[str, ...] = DEFAULT_GATEWAYS
    concurrency: int = DEFAULT_VERIFY_CONCURRENCY
    #: Seconds one gateway answer (a whole CAR, or one raw block) may take.
    timeout: float = DEFAULT_TIMEOUT
    #: Check only a seeded sample of the input (None: all of it).
    sample: Sample | None = None
    #: Check again what was proven retrievable before this POSIX time (None: never).
    since: float | None = None
    #: The verification journal [default: one per input and sample,
    #: :func:`~._journal_path.default_verify_journal_path`].
    journal: Path | None = None
    #: Write a report (.jsonl or .csv) at the end: one row per CID.
    report: Path | None = None
    #: Hash again the files of a push's PATHs whose stat changed (their CID on disk).
    check_disk: bool = True
    #: Seconds a check in flight may take to finish once a stop is asked.
    grace: float = 5.0

    # -- what the lifecycle reads (RunOptions) --

    @property
    def manifest(self) -> Path | None:
        """The report, written where the lifecycle writes a run's manifest."""
        return self.report

    #: A verification talks to no Decoo account: it lists none, sends nothing
    #: (so is never a dry run), follows no jobs and waits out no outage.
    list_account: ClassVar[bool] = False
    dry_run: ClassVar[bool] = False
    wait_timeout: ClassVar[float] = 0.0
    patience: ClassVar[float] = 0.0
