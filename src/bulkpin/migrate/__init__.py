"""Migrating pins: ``bulkpin pin``, which moves references where ``push`` moves bytes.

Each CID a source lists (:mod:`bulkpin.sources`: a CID list, another pinning
service's Pinning Service API, a kubo node, or CIDs given as arguments) is
pinned on the destination with ``pinByHash``, which fetches the content from
the network, then followed through ``pinJobs`` until pinned. :func:`migrate` is
the library entry point.

One module per stage: :mod:`.listing` (the source, sharded, recorded) with
:mod:`.plan` (the march of each CID: :mod:`bulkpin.core.march`), the
``pinByHash`` mover (:mod:`bulkpin.movers.pin_by_hash`), the one poller
(:mod:`bulkpin.core.poll`) and :mod:`.manifest`; :mod:`.pipeline` only wires
them. What every CID became is :class:`~bulkpin.journal.PinJournal`'s (items
of the one items table, in push's crash-safe store). Around them: :mod:`.journal_path`,
:mod:`.accounting`, :mod:`.events`, :mod:`.options`, :mod:`.summary`,
:mod:`.cid_args` (CIDs on the command line).
"""

from ..journal import (
    PIN_STATES,
    BadLineRecord,
    PinJournal,
    PinRecord,
    PinState,
    default_pin_journal_path,
)
from .accounting import PinAccounting
from .cid_args import CidArguments
from .events import (
    BadLineEvent,
    MigrateEvent,
    NoticeEvent,
    PinEvent,
    PinOutcome,
    ProgressEvent,
)
from .journal_path import source_key
from .listing import Relister
from .manifest import PIN_MANIFEST_FIELDS, pin_manifest_rows, write_pin_manifest
from .options import DEFAULT_PIN_CONCURRENCY, PinOptions
from .pipeline import migrate
from .summary import PinSummary

__all__ = [
    "DEFAULT_PIN_CONCURRENCY",
    "PIN_MANIFEST_FIELDS",
    "PIN_STATES",
    "BadLineEvent",
    "BadLineRecord",
    "CidArguments",
    "MigrateEvent",
    "NoticeEvent",
    "PinAccounting",
    "PinEvent",
    "PinJournal",
    "PinOptions",
    "PinOutcome",
    "PinRecord",
    "PinState",
    "PinSummary",
    "ProgressEvent",
    "Relister",
    "default_pin_journal_path",
    "migrate",
    "pin_manifest_rows",
    "source_key",
    "write_pin_manifest",
]
