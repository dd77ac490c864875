"""Proving that what is pinned can be fetched from IPFS gateways, block by block.

:func:`verify_cid` fetches a CID's DAG from trustless gateways as a CAR
(raw blocks for what the CAR lacks), checks every block against its CID as
it arrives, walks the UnixFS DAG from the root and answers one typed
:data:`Outcome`. Bytes are streamed and checked, never kept whole, never
written to disk.

:func:`verify_all` (``bulkpin verify``) does it for every CID of an input
(:class:`JournalInput`, :class:`ManifestInput`, :class:`CidListInput`), or a
seeded :class:`Sample` of them, as one run of push's lifecycle: resumable
through a :class:`VerifyJournal`, reported through events and a summary.
"""

from ..journal import default_verify_journal_path
from ._events import (
    BadLineEvent,
    ChangedEvent,
    CidEvent,
    NoticeEvent,
    ProgressEvent,
    VerifyEvent,
)
from ._http import same_origin_get
from ._items import CidListInput, JournalInput, ManifestInput, VerifyInput, VerifyItem
from ._journal import OUTCOMES, REPORT_COLUMNS, OutcomeName, VerifyJournal, record_outcome
from ._options import DEFAULT_GATEWAYS, DEFAULT_VERIFY_CONCURRENCY, VerifyOptions
from ._outcomes import (
    Corrupt,
    FailureKind,
    GatewayFailure,
    Incomplete,
    Outcome,
    Retrievable,
    Unreachable,
    WrongSize,
)
from ._run import verify_all
from ._sample import Sample
from ._summary import VerifySummary
from ._verify import DEFAULT_TIMEOUT, verify_cid
from ._walk import DagWalk

__all__ = [
    "DEFAULT_GATEWAYS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_VERIFY_CONCURRENCY",
    "OUTCOMES",
    "REPORT_COLUMNS",
    "BadLineEvent",
    "ChangedEvent",
    "CidEvent",
    "CidListInput",
    "Corrupt",
    "DagWalk",
    "FailureKind",
    "GatewayFailure",
    "Incomplete",
    "JournalInput",
    "ManifestInput",
    "NoticeEvent",
    "Outcome",
    "OutcomeName",
    "ProgressEvent",
    "Retrievable",
    "Sample",
    "Unreachable",
    "VerifyEvent",
    "VerifyInput",
    "VerifyItem",
    "VerifyJournal",
    "VerifyOptions",
    "VerifySummary",
    "WrongSize",
    "default_verify_journal_path",
    "record_outcome",
    "same_origin_get",
    "verify_all",
    "verify_cid",
]
