"""Everything a ``bulkpin pin`` run can be told, with its defaults, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..core.options import MoveOptions
from ..fs import Shard

__all__ = ["DEFAULT_PIN_CONCURRENCY", "PinOptions"]

#: ``pinByHash`` requests in flight by default. A request carries a CID, not
#: bytes: the bound is the service's patience, not bandwidth; Decoo rate-limits
#: with 429 (honoured) beyond what it accepts.
DEFAULT_PIN_CONCURRENCY: Final = 16


@dataclass(frozen=True, slots=True)
class PinOptions(MoveOptions):
    """How a ``pin`` run goes. The CLI builds one from its flags.

    What every run is told is :class:`~bulkpin.core.options.MoveOptions`'s.
    """

    concurrency: int = DEFAULT_PIN_CONCURRENCY
    #: Take only the CIDs of this share (by a hash of the CID).
    shard: Shard | None = None
