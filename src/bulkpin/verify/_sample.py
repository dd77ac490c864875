"""A seeded sample of the input: the same CIDs each time, in bounded memory.

Every CID gets a rank, the first 8 bytes of ``sha256(seed, CID)``. ``P%``
keeps the CIDs whose rank falls in the lowest P per cent of the range, each
decided on its own as it streams by; ``N`` keeps the N lowest ranks, which
needs the whole input read first but never more than N items held (a heap).
Neither depends on the input's order, so the same input and seed give the
same sample twice, and a larger N or P holds every CID a smaller one did.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

__all__ = ["Sample", "rank"]

_RANKS = 1 << 64


class _HasCid(Protocol):
    @property
    def cid(self) -> str: ...


T = TypeVar("T", bound=_HasCid)


def rank(seed: str, cid: str) -> int:
    """Where ``cid`` falls in the sample of ``seed`` (lower: sooner taken)."""
    digest = hashlib.sha256(f"{seed}\0{cid}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True, slots=True)
class Sample:
    """``count`` CIDs, or ``percent`` of them, chosen by ``seed``."""

    count: int | None = None
    percent: float | None = None
    seed: str = "0"

    @classmethod
    def parse(cls, text: str, seed: str = "0") -> Sample:
        """``N`` or ``P%`` (raises ValueError)."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
        if match is None:
            raise ValueError(f"--sample {text!r}: give N (a count) or P% (a percentage)")
        number, percent = match.groups()
        if percent:
            value = float(number)
            if not 0 < value <= 100:
                raise ValueError(f"--sample {text!r}: a percentage is above 0 and at most 100")
            return cls(percent=value, seed=seed)
        if "." in number or int(number) < 1:
            raise ValueError(f"--sample {text!r}: a count is a whole number of at least 1")
        return cls(count=int(number), seed=seed)

    def __str__(self) -> str:
        what = f"{self.percent:g}%" if self.percent is not None else str(self.count)
        return f"{what} (seed {self.seed})"

    async def select(self, items: AsyncIterator[T]) -> AsyncGenerator[T, None]:
        """The sampled items of ``items``: as they come (P%), or lowest rank first (N)."""
        if self.percent is not None:
            bound = int(_RANKS * self.percent / 100)
            async for item in items:
                if rank(self.seed, item.cid) < bound:
                    yield item
            return
        assert self.count is not None
        # A max-heap of the N lowest ranks (negated): the sample's worst on top.
        # (rank, CID) orders distinct CIDs totally, so the input's order never
        # matters; a CID listed twice takes one place.
        heap: list[tuple[int, str, T]] = []
        held: set[str] = set()
        async for item in items:
            key = (-rank(self.seed, item.cid), item.cid)
            if item.cid in held:
                continue
            if len(heap) < self.count:
                heapq.heappush(heap, (*key, item))
                held.add(item.cid)
            elif key > heap[0][:2]:
                held.discard(heapq.heapreplace(heap, (*key, item))[1])
                held.add(item.cid)
        for entry in sorted(heap, key=lambda e: e[:2], reverse=True):
            yield entry[2]
