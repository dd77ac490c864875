"""What a source of ``bulkpin pin`` yields, and the interface every source offers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["BadLine", "PinItem", "PinSource", "SourceEntry"]


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
