"""One run from start to end, the same for every source and mover.

::

    check the destination ─▶ open the journal ─▶ begin ─▶ list the account
        ─▶ stages (march, move, follow) ─▶ finish ─▶ manifest ─▶ ending ─▶ summary

``push`` of a tree, the bucket/URL push and ``pin`` differ only in what a
:class:`RunPlan` says: which journal, which stages, what to do after them
(root CIDs), how the manifest is written and how the summary looks. The order
above, the error mapping of a journal that cannot be opened (exit 2; a damaged
one as such, so the CLI says how to set it aside) or read mid-run, the commit
after the stages whatever happened, a manifest that cannot be written (said,
the summary kept, exit 1 for a run otherwise done) and how the run ended
(:func:`~.errors.ending`) are here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import anyio

from ..client import DecooClient
from ..destination import Destination
from ..journal import DATABASE_ERRORS, JournalStore
from .errors import ExitStatus, JournalError, RunAborted, ending, is_damage
from .options import ListingOptions
from .preflight import check_destination

if TYPE_CHECKING:
    from ..push.account_index import AccountIndex, ListingCost

__all__ = ["Ended", "RunOptions", "RunPlan", "RunStages", "run"]


J = TypeVar("J", bound="JournalStore")
S = TypeVar("S", bound="RunStages")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class RunOptions(ListingOptions, Protocol):
    """What the lifecycle reads of a run's options (push's and pin's both have it)."""

    @property
    def dry_run(self) -> bool: ...
    @property
    def wait_timeout(self) -> float: ...
    @property
    def manifest(self) -> Path | None: ...


class RunStages(Protocol):
    """The stages of one run, once they have run."""

    #: The abort that ended them, if one did.
    aborted: RunAborted | None
    #: Jobs were still not final after the wait timeout.
    poll_timed_out: bool

    async def main(self) -> None:
        """Run every stage until the source's last item is final, or the run stops."""
        ...

    @property
    def source_failed(self) -> str | None:
        """Why the source stopped part-way (the run is resumable), or None."""
        ...


@dataclass(frozen=True, slots=True)
class Ended:
    """How a run ended, for its summary."""

    status: ExitStatus
    reason: str
    counts: dict[str, int]
    listing: ListingCost | None
    destination: Destination | None
    #: The manifest written (None: none asked for, or it could not be written).
    manifest: Path | None


class RunPlan(Protocol[J, S, R_co]):
    """What one kind of run says to the lifecycle (see the module)."""

    #: The journal's path, once :meth:`open_journal` chose it (as the user sees it).
    journal_path: Path | None

    def open_journal(self, destination: Destination | None) -> J:
        """The run's journal (raises :class:`JournalError`)."""
        ...

    def begin(self, journal: J) -> None:
        """After the run is recorded, before the account is listed."""
        ...

    def stages(self, journal: J, index: AccountIndex | None) -> S:
        """The stages of this run, on the listed account's index."""
        ...

    async def finish(self, journal: J, stages: S) -> None:
        """After the stages and the commit, before the counts (local root CIDs)."""
        ...

    def write_manifest(self, journal: J, path: Path) -> None:
        """Write the manifest the options asked for."""
        ...

    def failures(self, counts: dict[str, int]) -> str | None:
        """How many of what failed, for the ending's reason; None if nothing did."""
        ...

    def summary(self, journal: J, stages: S, ended: Ended) -> R_co:
        """What the caller gets."""
        ...


async def run(plan: RunPlan[J, S, R], *, client: DecooClient | None, options: RunOptions,
              stop: anyio.Event, say: Callable[[str], None],
              warn: Callable[[str], None]) -> R:
    """Carry one run through the lifecycle of the module docstring.

    Raises :class:`RunAborted`: exit 2 for a destination or journal that cannot
    work, found before anything is sent; the stages' own aborts end the run
    with a summary instead.
    """
    await check_destination(client, options.dry_run, warn)
    destination = Destination.of(client.credentials) if client is not None else None
    try:
        journal = plan.open_journal(destination)
    except JournalError as exc:
        if is_damage(exc):  # the CLI says how to set it aside
            raise JournalError(str(exc), plan.journal_path, damaged=True) from exc
        raise RunAborted(str(exc), ExitStatus.USAGE) from exc
    try:
        with journal:
            return await _lifecycle(plan, journal, client, options, stop, say, warn,
                                    destination)
    except* DATABASE_ERRORS as group:
        raise _journal_failure(group, plan.journal_path)  # noqa: B904 - the cause is kept


async def _lifecycle(plan: RunPlan[J, S, R], journal: J, client: DecooClient | None,
                     options: RunOptions, stop: anyio.Event, say: Callable[[str], None],
                     warn: Callable[[str], None], destination: Destination | None) -> R:
    # Imported here, not at the top: the account index and the manifest writer
    # are still push's, whose package imports this module.
    from ..push.account_index import list_account  # noqa: PLC0415
    from ..push.manifest import ManifestWriteError  # noqa: PLC0415

    run_id = journal.begin_run()
    plan.begin(journal)
    index, listing = await list_account(journal, client, options, stop=stop, say=say,
                                        warn=warn)
    stages = plan.stages(journal, index)
    try:
        await stages.main()
    finally:
        journal.commit()
    await plan.finish(journal, stages)
    counts = journal.counts()
    status, reason = ending(
        aborted=stages.aborted, stopped=stop.is_set(), poll_timed_out=stages.poll_timed_out,
        wait_timeout=options.wait_timeout, failures=plan.failures(counts),
        source_failed=stages.source_failed)
    manifest = options.manifest
    if manifest is not None:
        try:
            plan.write_manifest(journal, manifest)
        except ManifestWriteError as exc:
            # How the run went still comes, and every row is in the journal.
            warn(f"error: {exc}; every row is in the journal: {exc.remedy}")
            manifest = None
            if status == ExitStatus.OK:
                status, reason = ExitStatus.FAILED, "done, but the manifest could not be written"
    journal.end_run(run_id, reason)
    return plan.summary(journal, stages, Ended(status, reason, counts, listing, destination,
                                               manifest))


def _journal_failure(group: BaseExceptionGroup[BaseException], path: Path | None) -> JournalError:
    """One JournalError naming ``path``, for the first journal failure of a run.

    The journal's reads (the planner's, the poller's) raise SQLite's own errors;
    they become JournalError here, once, so the CLI need not know SQLite.
    """
    first: BaseException = group
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    if isinstance(first, JournalError):
        first.path = first.path or path
        first.damaged = first.damaged or is_damage(first)
        return first
    failure = JournalError(f"cannot read the journal {path}: {first}", path,
                           damaged=is_damage(first))
    failure.__cause__ = first
    return failure
