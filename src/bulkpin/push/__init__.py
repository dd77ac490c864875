"""The bulk pipeline behind ``bulkpin push``; :func:`push` is its library entry point.

One module per stage of DESIGN.md's picture: the source, its listing and its
march hooks (:mod:`bulkpin.sources.local` for PATHs, :mod:`bulkpin.sources.objects`
for ``s3://`` and URLs), :mod:`bulkpin.movers` (hash and send), :mod:`.poll`
(batched ``pinJobs``), :mod:`.manifest` and :mod:`.roots` (report);
:mod:`.pipeline` only wires them, for any source, and :mod:`.run` is the one
plan. Around them: :mod:`.journal` (what every file became) on :mod:`._store`
(crash-safe SQLite), :mod:`.accounting` (counters fed by per-file outcomes),
:mod:`.pacing` (limits, patience), :mod:`.errors`.
"""

from ..core.accounting import Accounting
from ..core.concurrency import DEFAULT_CEILING, ConcurrencyController
from ..core.errors import ExitStatus, JournalError, JournalLocked, PushError, RunAborted
from ..core.events import FileEvent, FileOutcome, NoticeEvent, ProgressEvent, PushEvent, Snapshot
from ..core.poll import Poller, PollSchedule, RoundResult
from ..fs import Selection, SelectionError, Shard
from ..journal import FoundJournal, Journal, default_journal_path, journals_for, read_found
from .account_index import AccountIndex, ListingCost
from .check import CheckResult, CheckSummary, check
from .manifest import ManifestError, ManifestWriteError, manifest_format, write_manifest
from .options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_GRACE,
    DEFAULT_MEMORY,
    DEFAULT_SMALL_FILE,
    PushOptions,
)
from .run import push
from .summary import PushSummary

__all__ = [
    "DEFAULT_CEILING",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_GRACE",
    "DEFAULT_MEMORY",
    "DEFAULT_SMALL_FILE",
    "AccountIndex",
    "Accounting",
    "CheckResult",
    "CheckSummary",
    "ConcurrencyController",
    "ExitStatus",
    "FileEvent",
    "FileOutcome",
    "FoundJournal",
    "Journal",
    "JournalError",
    "JournalLocked",
    "ListingCost",
    "ManifestError",
    "ManifestWriteError",
    "NoticeEvent",
    "PollSchedule",
    "Poller",
    "ProgressEvent",
    "PushError",
    "PushEvent",
    "PushOptions",
    "PushSummary",
    "RoundResult",
    "RunAborted",
    "Selection",
    "SelectionError",
    "Shard",
    "Snapshot",
    "check",
    "default_journal_path",
    "journals_for",
    "manifest_format",
    "push",
    "read_found",
    "write_manifest",
]
