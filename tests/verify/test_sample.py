"""The seeded sample: the same CIDs whatever the input's order, bounded by N."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bulkpin.verify import Sample

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class _Item:
    cid: str


async def _stream(cids: list[str]) -> AsyncIterator[_Item]:
    for cid in cids:
        yield _Item(cid)


async def _sampled(sample: Sample, cids: list[str]) -> list[str]:
    return [item.cid async for item in sample.select(_stream(cids))]


CIDS = [f"cid-{i}" for i in range(200)]


@pytest.mark.parametrize("spec", ["10", "25%"])
async def test_the_order_of_the_input_does_not_change_the_sample(spec: str) -> None:
    sample = Sample.parse(spec, seed="s")
    shuffled = random.Random(1).sample(CIDS, len(CIDS))
    first, second = await _sampled(sample, CIDS), await _sampled(sample, shuffled)
    assert sorted(first) == sorted(second)
    if sample.count is not None:
        assert first == second  # lowest rank first, whatever came first
        assert len(first) == 10


async def test_a_cid_listed_twice_takes_one_place() -> None:
    sample = Sample.parse("5", seed="x")
    doubled = [c for cid in CIDS[:8] for c in (cid, cid)]
    picked = await _sampled(sample, doubled)
    assert len(picked) == len(set(picked)) == 5


async def test_another_seed_another_sample() -> None:
    assert await _sampled(Sample.parse("10", "a"), CIDS) != await _sampled(
        Sample.parse("10", "b"), CIDS)


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "0%", "101%", "ten", ""])
def test_what_is_no_sample_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--sample"):
        Sample.parse(text)
