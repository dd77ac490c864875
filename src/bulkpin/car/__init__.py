"""CAR v1 (Content Addressable aRchive) streams: a reader that checks, and a writer.

The reader yields each block only once its bytes hash to its CID, holding one
block at a time; the writer frames sections for a streamed answer. Errors
are drawn in :mod:`._errors`.
"""

from ._errors import BlockMismatch, CarError, TruncatedCar, UnsupportedCar
from ._header import CarHeader, decode_header, encode_header
from ._reader import MAX_BLOCK, MAX_HEADER, ByteSource, CarBlock, CarReader
from ._writer import CarWriter, car_header, section_prefix

__all__ = [
    "MAX_BLOCK",
    "MAX_HEADER",
    "BlockMismatch",
    "ByteSource",
    "CarBlock",
    "CarError",
    "CarHeader",
    "CarReader",
    "CarWriter",
    "TruncatedCar",
    "UnsupportedCar",
    "car_header",
    "decode_header",
    "encode_header",
    "section_prefix",
]
