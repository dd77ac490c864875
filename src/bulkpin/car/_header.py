"""The CAR v1 header: the DAG-CBOR map ``{"roots": [CID...], "version": 1}``.

Only the subset of CBOR a header uses is read (unsigned integers, byte and
text strings, arrays, maps, tag 42 for CIDs); anything else is a
:class:`~._errors.CarError`, not a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._errors import CarError, UnsupportedCar

__all__ = ["CarHeader", "decode_header", "encode_header"]

#: The CBOR tag DAG-CBOR gives a CID; its bytes start with the identity multibase 0x00.
_CID_TAG = 42
_UINT, _BYTES, _TEXT, _ARRAY, _MAP, _TAG = 0, 2, 3, 4, 5, 6
#: Nested arrays or maps deeper than this are not a header.
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class CarHeader:
    """What a CAR's header says: its version and root CIDs (binary)."""

    version: int
    roots: tuple[bytes, ...]


def _head(major: int, n: int) -> bytes:
    """A CBOR item's initial bytes: its major type and shortest argument."""
    if n < 24:
        return bytes((major << 5 | n,))
    for extra, width in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * width):
            return bytes((major << 5 | extra,)) + n.to_bytes(width, "big")
    raise ValueError("integer too large for CBOR")


def encode_header(roots: Sequence[bytes]) -> bytes:
    """The DAG-CBOR header of a CAR v1 with these roots (keys in canonical order)."""
    out = bytearray(_head(_MAP, 2))
    out += _head(_TEXT, 5) + b"roots" + _head(_ARRAY, len(roots))
    for cid in roots:
        out += _head(_TAG, _CID_TAG) + _head(_BYTES, len(cid) + 1) + b"\x00" + cid
    out += _head(_TEXT, 7) + b"version" + _head(_UINT, 1)
    return bytes(out)


class _Cbor:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _argument(self) -> tuple[int, int]:
        if self._pos >= len(self._data):
            raise CarError("CAR header: cut short")
        first = self._data[self._pos]
        self._pos += 1
        major, info = first >> 5, first & 0x1F
        if info < 24:
            return major, info
        if info > 27:
            raise CarError("CAR header: indefinite lengths are not DAG-CBOR")
        width = 1 << (info - 24)
        end = self._pos + width
        if end > len(self._data):
            raise CarError("CAR header: cut short")
        value = int.from_bytes(self._data[self._pos : end], "big")
        self._pos = end
        return major, value

    def _string(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise CarError("CAR header: cut short")
        value, self._pos = self._data[self._pos : end], end
        return value

    def item(self, depth: int = 0) -> object:
        if depth > _MAX_DEPTH:
            raise CarError("CAR header: nested too deep")
        major, n = self._argument()
        if major == _UINT:
            return n
        if major == _BYTES:
            return self._string(n)
        if major == _TEXT:
            try:
                return self._string(n).decode()
            except UnicodeDecodeError:
                raise CarError("CAR header: a text string is not UTF-8") from None
        if major == _ARRAY:
            return [self.item(depth + 1) for _ in range(n)]
        if major == _MAP:
            pairs = [(self.item(depth + 1), self.item(depth + 1)) for _ in range(n)]
            if not all(isinstance(k, str) for k, _ in pairs):
                raise CarError("CAR header: map keys must be strings")
            return dict(pairs)
        if major == _TAG and n == _CID_TAG:
            value = self.item(depth + 1)
            if not isinstance(value, bytes) or value[:1] != b"\x00" or len(value) < 2:
                raise CarError("CAR header: a CID must be bytes starting 0x00")
            return _Cid(value[1:])
        raise CarError(f"CAR header: CBOR major type {major} is not expected in a header")

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise CarError("CAR header: bytes after the header map")


@dataclass(frozen=True, slots=True)
class _Cid:
    raw: bytes


def decode_header(data: bytes) -> CarHeader:
    """Parse a CAR header's DAG-CBOR bytes (:class:`CarError` if it is not one)."""
    reader = _Cbor(data)
    value = reader.item()
    reader.finish()
    if not isinstance(value, dict):
        raise CarError("CAR header: not a map")
    version = value.get("version")
    if not isinstance(version, int):
        raise CarError("CAR header: no version")
    if version != 1:
        raise UnsupportedCar(f"CAR version {version} is not supported (only 1)")
    roots = value.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, _Cid) for r in roots):
        raise CarError("CAR header: roots must be a list of CIDs")
    return CarHeader(version, tuple(r.raw for r in roots))
