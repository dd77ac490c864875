"""What sources yield, and the interfaces they offer: ``pin``'s CIDs, ``push``'s bytes."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    import anyio
    from anyio.streams.memory import MemoryObjectSendStream

    from ..core.accounting import Accounting
    from ..journal import FileRecord, Journal
    from ..movers.pin_file import PinFileMover
    from ..push.account_index import AccountIndex

__all__ = ["BadLine", "ItemMover", "Marcher", "PinItem", "PinSource", "PushSource", "SourceEntry"]


@dataclass(frozen=True, slots=True)
class PinItem:
    """One CID to pin, as a source names it."""

    #: Normalised (:func:`~.cid_text.normalise_cid`): CIDv0 stays ``Qm…``, CIDv1 is
    #: base32 lower case, the form Decoo and kubo print.
    cid: str
    #: The source's name for it, if any.
    name: str | None = None
    #: Pinning Service API ``meta`` carried over (empty when the source has none).
    meta: dict[str, str] = field(default_factory=dict)
    #: Where it came from, for the manifest: ``cids.txt:12``, ``psa:https://…/psa``,
    #: ``kubo:http://…``.
    origin: str = ""
    #: When the source says the pin was created (RFC 3339, as the source printed it);
    #: a Pinning Service API source only. A resumed run passes the ``created`` of
    #: the last item it finished as ``PsaSource(before=...)``.
    created: str | None = None


@dataclass(frozen=True, slots=True)
class BadLine:
    """An entry that is not a CID: the run reports it and goes on.

    For a CID list, ``line`` is the 1-based line number; for a service, the
    1-based position of the entry in its listing.
    """

    origin: str
    line: int
    text: str
    reason: str


#: What iterating a source yields.
SourceEntry = PinItem | BadLine


@runtime_checkable
class PinSource(Protocol):
    """A stream of :data:`SourceEntry`, in bounded memory.

    Each ``async for`` lists the source afresh (a re-listing sees what was
    added since). Breaking out early should go through
    ``contextlib.aclosing(aiter(source))`` so the connection is closed at once.
    """

    @property
    def label(self) -> str:
        """The source, for messages and the manifest: ``cids.txt``, ``psa:https://…``."""
        ...

    def __aiter__(self) -> AsyncGenerator[SourceEntry, None]:
        """List the source."""
        ...


# -- what push asks of a source of bytes (the local walk, a bucket, a URL list) --

E = TypeVar("E")
E_contra = TypeVar("E_contra", contravariant=True)
W = TypeVar("W")
W_co = TypeVar("W_co", covariant=True)
W_contra = TypeVar("W_contra", contravariant=True)


class Marcher(Protocol[E_contra, W_co]):
    """A source's hooks around the march: how one listed entry becomes a row and work.

    The march's loop (:func:`~bulkpin.core.march.march_them`) is the same for
    every source; what differs is how an entry is recorded (a walk's page of
    rows, an object's listing) and what "gone" means.
    """

    #: The listing names everything under its roots, so a row it did not meet is gone.
    whole: bool

    def plan(self, entry: E_contra) -> W_co | None:
        """Record one entry; the work it needs, or None."""

    def after_batch(self) -> None:
        """A batch was planned: write what was held back, commit if due."""

    def sweep_gone(self) -> None:
        """Record unfinished rows the whole listing did not meet as ``gone``."""


class ItemMover(Protocol[W_contra]):
    """How a source's items are read and sent, holding the run's one ``pinFile`` mover."""

    async def handle(self, item: W_contra) -> None:
        """Take one item to an outcome (or raise :class:`~bulkpin.core.errors.RunAborted`)."""

    def name(self, item: W_contra) -> str | None:
        """The item's name while in flight (its pace is followed), or None."""


class PushSource(Protocol[E, W]):
    """A source of ``push``: lists entries, marches them, and moves their items.

    ``E``: what the listing hands the march (a walk's candidate, a listed
    object); ``W``: what the march hands the movers.
    """

    #: What the summary counts failures in: ``file(s)``, ``object(s)``.
    noun: str
    #: A dry run works on a copy of the journal (else it records what it hashed).
    dry_run_copy: bool
    #: Runs to one destination share claims (:mod:`bulkpin.journal.claims`).
    shares_claims: bool
    #: The poller may hand back rows (another run's job for their CID failed) to
    #: send again in this run (:meth:`revived`).
    revives: bool

    @property
    def roots(self) -> list[bytes]:
        """One journal root per source argument: the default journal's key, the manifest's roots."""

    def begin(self, journal: Journal) -> list[int]:
        """The journal ids of :attr:`roots` (and what the source records with them)."""

    async def listing(self, send: MemoryObjectSendStream[Sequence[E]], root_ids: list[int],
                      stop: anyio.Event) -> None:
        """Every entry, in batches, until the listing ends or ``stop``; closes ``send``."""

    def marcher(self, journal: Journal, root_ids: list[int], acct: Accounting,
                index: AccountIndex | None) -> Marcher[E, W]:
        """The march's hooks for this run."""

    def mover(self, mover: PinFileMover) -> ItemMover[W]:
        """The movers' hooks for this run, holding ``mover``."""

    def revived(self, record: FileRecord) -> W:
        """The work of a row the poller handed back (:attr:`revives`)."""

    async def finish(self, journal: Journal) -> list[tuple[str, str | None]]:
        """After stages that ran to their end: each root's CID, where the source has one."""
