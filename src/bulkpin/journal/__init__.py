"""The journal: the only package that speaks SQL (outside the service's own store).

What every run learnt, crash-safe, in one SQLite file per run with one
versioned schema (:mod:`.schema`, with the upgrades from every earlier one):

- one items table with one state machine: :class:`Journal`, ``push``'s files and
  objects (local paths, ``s3://``, URLs: :mod:`.remote`), read in the walk's order
  by :class:`WalkRows`, and :class:`PinJournal`, ``pin``'s CIDs;
- :class:`VerifyJournal`: ``verify``'s proofs;
- one set of job transitions (:mod:`.jobs`) behind one :class:`JobBook`, so
  one poller follows push's and pin's jobs;
- the account index's tables (:class:`AccountTables`);
- where each kind of journal lives (:mod:`.paths`) and which exist (:mod:`.found`).

The account is the truth and the journal a cache of it: nothing here decides
that a CID is held, it only remembers what the account said.
"""

from __future__ import annotations

from .account import AccountTables
from .claims import SharedClaims, claims_path
from .errors import DATABASE_ERRORS, JOURNAL_ERRORS, JournalError, JournalLocked, is_damage
from .files import FileRecord, Journal, dry_run_copy
from .found import FoundJournal, KnownFiles, all_journals, journals_for, read_found
from .job_book import JobBook, JobCounters
from .packed import unpack_cid
from .paths import (
    default_journal_path,
    default_pin_journal_path,
    default_verify_journal_path,
    journal_path,
)
from .pins import PIN_STATES, BadLineRecord, PinJournal, PinRecord, PinState
from .remote import (
    RemoteIdentity,
    discover_remote,
    record_not_taken,
    remote_identity,
    remote_twin,
    set_size,
    touch_remote,
)
from .schema import SCHEMA_VERSION, WHOLE_FILE_FLOOR, Kind
from .store import STATES, JournalStore, State
from .verified import OUTCOMES, REPORT_COLUMNS, OutcomeName, Proof, VerifyJournal
from .walk_rows import WalkRows

__all__ = [
    "DATABASE_ERRORS",
    "JOURNAL_ERRORS",
    "OUTCOMES",
    "PIN_STATES",
    "REPORT_COLUMNS",
    "SCHEMA_VERSION",
    "STATES",
    "WHOLE_FILE_FLOOR",
    "AccountTables",
    "BadLineRecord",
    "FileRecord",
    "FoundJournal",
    "JobBook",
    "JobCounters",
    "Journal",
    "JournalError",
    "JournalLocked",
    "JournalStore",
    "Kind",
    "KnownFiles",
    "OutcomeName",
    "PinJournal",
    "PinRecord",
    "PinState",
    "Proof",
    "RemoteIdentity",
    "SharedClaims",
    "State",
    "VerifyJournal",
    "WalkRows",
    "all_journals",
    "claims_path",
    "default_journal_path",
    "default_pin_journal_path",
    "default_verify_journal_path",
    "discover_remote",
    "dry_run_copy",
    "is_damage",
    "journal_path",
    "journals_for",
    "read_found",
    "record_not_taken",
    "remote_identity",
    "remote_twin",
    "set_size",
    "touch_remote",
    "unpack_cid",
]
