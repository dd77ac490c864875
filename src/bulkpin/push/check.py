"""``check``: is every file under some PATHs on the account? (like ``rclone check``)

Each file's CID comes from the journal of an earlier push to the same
destination while the file is unchanged, and is computed otherwise; the
account index (:mod:`.account_index`) then says whether the account holds it.
Nothing is uploaded. A file the journal recorded as pinned that has changed
since, and whose new content the account does not hold, is ``changed``; one
whose CID has only a job not yet final is ``pending``, not on the account.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio

from ..client import DecooClient
from ..core.errors import ExitStatus, JournalError, JournalLocked, RunAborted
from ..destination import Destination
from ..fs import Candidate, walk_candidates
from ..journal import Journal, KnownFiles, default_journal_path
from .account_index import AccountIndex, ListingCost
from .hashing import hash_checked
from .options import PushOptions

__all__ = ["CheckResult", "CheckSummary", "check"]

#: ``pending``: the account has a job for the CID, not yet pinned; it is not held
#: until it is (the job may fail where nobody has the content).
Verdict = Literal["on_account", "pending", "missing", "changed", "unreadable"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One file's answer."""

    path: bytes
    display: str
    verdict: Verdict
    cid: str | None
    error: str | None = None


@dataclass(slots=True)
class CheckSummary:
    """The counts, and what the listing cost."""

    destination: Destination
    listing: ListingCost
    counts: dict[Verdict, int] = field(default_factory=lambda: {
        "on_account": 0, "pending": 0, "missing": 0, "changed": 0, "unreadable": 0,
    })

    @property
    def exit_status(self) -> ExitStatus:
        """0 when every file is on the account, else 1."""
        return ExitStatus.OK if self.counts["on_account"] == sum(self.counts.values()) \
            else ExitStatus.FAILED


def _open_index(roots: list[bytes], options: PushOptions, destination: Destination,
                scratch: Path) -> tuple[Journal, bool]:
    """The push's journal for these PATHs if there is one and it is free, else a scratch one."""
    path = options.journal or default_journal_path(roots, options, destination)
    if path.exists():
        try:
            return Journal(path, profile_name=options.profile.name,
                           destination=destination), True
        except JournalLocked:
            pass  # a push is running: list the account into a journal of our own
    return Journal(scratch / "check.sqlite", profile_name=options.profile.name,
                   destination=destination), False


async def check(
    paths: Sequence[str | bytes], options: PushOptions, *, client: DecooClient,
    on_result: Callable[[CheckResult], None] | None = None,
) -> CheckSummary:
    """Check every file under ``paths`` against the account ``client`` talks to."""
    emit = on_result or (lambda result: None)
    roots = [os.path.abspath(os.fsencode(p)) for p in paths]  # noqa: ASYNC240 - no I/O
    destination = Destination.of(client.credentials)
    with tempfile.TemporaryDirectory(prefix="bulkpin-check-") as scratch:
        try:
            journal, own = _open_index(roots, options, destination, Path(scratch))
        except JournalError as exc:
            raise RunAborted(str(exc), ExitStatus.USAGE) from exc
        with journal:
            index = AccountIndex(journal)
            listing = await index.refresh_patiently(client, options.patience, lambda m: None)
            summary = CheckSummary(destination, listing)
            known = KnownFiles(journal.path) if own else None
            limiter = anyio.CapacityLimiter(options.hash_workers)
            candidates = walk_candidates(roots, options.selection, hidden=options.hidden,
                                         follow_symlinks=options.follow_symlinks)
            for cand in candidates:
                if cand.kind != "file":
                    continue
                result = await _check_one(cand, options, journal if own else None, known,
                                          index, limiter)
                summary.counts[result.verdict] += 1
                emit(result)
    return summary


async def _check_one(cand: Candidate, options: PushOptions, journal: Journal | None,
                     known: KnownFiles | None, index: AccountIndex,
                     limiter: anyio.CapacityLimiter) -> CheckResult:
    display = os.fsdecode(cand.display)
    recorded = journal.get(cand.path) if journal is not None else None
    cid = None
    if known is not None:
        st = os.lstat(cand.path) if not options.follow_symlinks else os.stat(cand.path)
        found = known.cid_if_unchanged(cand.path, st)
        cid = found[0] if found is not None else None
    if cid is None:
        try:
            cid = await anyio.to_thread.run_sync(
                hash_checked, cand.path, cand.identity, options.profile,
                options.follow_symlinks, limiter=limiter,
            )
        except OSError as exc:
            return CheckResult(cand.path, display, "unreadable", None, str(exc))
    held = index.holds(cid)
    if held is not None:
        return CheckResult(cand.path, display, "on_account" if held.pinned else "pending", cid)
    was_pinned = recorded is not None and recorded.state == "pinned" \
        and recorded.identity != cand.identity
    return CheckResult(cand.path, display, "changed" if was_pinned else "missing", cid)
