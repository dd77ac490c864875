"""The CAR reader's errors, one hierarchy::

    CarError                 input that is not a well-formed CAR v1 stream
    ├── TruncatedCar         the stream ended inside the header or a section
    ├── UnsupportedCar       well formed, but a version or multihash this reader lacks
    └── BlockMismatch        a block whose bytes do not hash to its CID (.cid)
"""

from __future__ import annotations

__all__ = ["BlockMismatch", "CarError", "TruncatedCar", "UnsupportedCar"]


class CarError(ValueError):
    """Input that is not a well-formed CAR v1 stream."""


class TruncatedCar(CarError):
    """The stream ended part-way through the header or a section."""


class UnsupportedCar(CarError):
    """A CAR version, CID version or multihash function this reader cannot check."""


class BlockMismatch(CarError):
    """A block whose bytes do not hash to the CID it came with."""

    def __init__(self, cid: bytes) -> None:
        from ..unixfs.node import cid_to_str  # noqa: PLC0415 - keeps the error module a leaf

        super().__init__(f"block {cid_to_str(cid)}: its bytes do not match its CID")
        #: The binary CID the block claimed.
        self.cid = cid
