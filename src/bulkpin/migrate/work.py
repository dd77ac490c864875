"""What the listing stage hands the request workers."""

from __future__ import annotations

from dataclasses import dataclass

from ..journal import PinRecord

__all__ = ["WorkItem"]


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A CID to request; ``verify`` when an earlier run may have requested it already."""

    record: PinRecord
    verify: bool = False
