"""Injected gateway faults: ``--gateway-faults KIND=P[,KIND=P...]``, seeded by ``--fault-seed``.

======== =================================================================
missing  a block is left out of CARs and answered 404 as a raw block
corrupt  a block's bytes are changed (its CID is not), in CARs and raw
stall    the answer for a CID sends its headers and first bytes, then nothing
notfound a CID is answered 404 in every form
======== =================================================================

Unlike ``--faults``, which draws one number per request in arrival order,
each decision here is a function of the seed, the kind and the CID alone
(:meth:`GatewayFaults.hits`): a block missing from a CAR is missing as a raw
block too, in any order of requests, and a test can ask which blocks a seed
hits. ``missing`` and ``corrupt`` apply to every block (the root included);
``stall`` and ``notfound`` to the CID a request names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, get_args

from .faults import parse_kind_rate

__all__ = [
    "GATEWAY_FAULT_KINDS",
    "GatewayFaultKind",
    "GatewayFaults",
    "corrupted",
    "parse_gateway_faults",
]

GatewayFaultKind = Literal["missing", "corrupt", "stall", "notfound"]
GATEWAY_FAULT_KINDS: tuple[str, ...] = get_args(GatewayFaultKind)


@dataclass(frozen=True)
class GatewayFaults:
    """Per kind, the share of CIDs it hits; :meth:`hits` decides for one CID."""

    rates: tuple[tuple[GatewayFaultKind, float], ...] = ()
    seed: int = 0

    def hits(self, kind: GatewayFaultKind, cid: bytes) -> bool:
        """Whether fault ``kind`` applies to the (binary) CID, the same every time."""
        rate = dict(self.rates).get(kind, 0.0)
        if rate <= 0.0:
            return False
        digest = hashlib.sha256(f"{self.seed}/{kind}/".encode() + cid).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < rate

    def __bool__(self) -> bool:
        return any(rate > 0 for _, rate in self.rates)


def corrupted(block: bytes) -> bytes:
    """``block`` with one byte changed (an empty block gains one), so it no longer hashes."""
    if not block:
        return b"\x00"
    return bytes((block[0] ^ 0xFF,)) + block[1:]


def parse_gateway_faults(spec: str, seed: int = 0) -> GatewayFaults:
    """Parse ``KIND=P[,KIND=P...]``; :class:`~.faults.FaultSpecError` says what is wrong."""
    rates: dict[GatewayFaultKind, float] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        kind, p = parse_kind_rate(item, GATEWAY_FAULT_KINDS, "gateway fault")
        rates[kind] = p  # type: ignore[index]
    return GatewayFaults(tuple(rates.items()), seed)
