"""Paging a Pinning Service API on ``created``: shared timestamps at page boundaries.

Against :mod:`.fake_psa` over loopback HTTP, because ``bulkpin serve`` never
lets two pins of an account share a ``created`` (see that module).
"""

from __future__ import annotations

from collections import Counter
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import pytest

from bulkpin.client import RetryPolicy
from bulkpin.client.redact import Secret
from bulkpin.sources import BadLine, PinItem, PsaSource, SourceError, SourceToken

from .cids import v1
from .fake_psa import FakePsa, StoredPin
from .loopback import serve

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def pins_at(groups: list[tuple[datetime, int]]) -> list[StoredPin]:
    """``count`` pins at each time, a few microseconds apart (hidden by coarse printing)."""
    pins: list[StoredPin] = []
    for at, count in groups:
        for _ in range(count):
            n = len(pins)
            pins.append(StoredPin(f"req-{n:05d}", v1(f"p{n}"), at + timedelta(microseconds=n),
                                  name=f"pin {n}", meta={"n": str(n)}))
    return pins


async def listing(fake: FakePsa, **kwargs: object) -> list[PinItem]:
    async with serve(fake.app()) as url:
        token = SourceToken(Secret(fake.token), "test")
        source = PsaSource(url + "/psa", token, retry=RetryPolicy(max_attempts=1), **kwargs)  # type: ignore[arg-type]
        got = [entry async for entry in source]
    assert all(isinstance(e, PinItem) for e in got)
    return [e for e in got if isinstance(e, PinItem)]


def assert_exactly_once(got: list[PinItem], fake: FakePsa) -> None:
    wanted = {p.cid: p for p in fake.pins if p.status == "pinned"}
    counts = Counter(item.cid for item in got)
    assert set(counts) == set(wanted)
    assert max(counts.values()) == 1
    for item in got:
        assert item.name == wanted[item.cid].name
        assert item.meta == wanted[item.cid].meta


@pytest.mark.parametrize("digits", [0, 3])
async def test_a_group_sharing_one_created_across_a_page_boundary(digits: int) -> None:
    # 6 newest, then 25 that print as one time, then 9 older: with pages of 10,
    # the first page ends inside the group, and the group is bigger than a page.
    pins = pins_at([(T0 + timedelta(seconds=20), 6), (T0 + timedelta(seconds=10), 25), (T0, 9)])
    fake = FakePsa(pins, digits=digits)
    got = await listing(fake, page_size=10)
    assert_exactly_once(got, fake)
    # Newest first, by created.
    created = [item.created or "" for item in got]
    assert created == sorted(created, reverse=True)
    # The group made the pager widen its page to the maximum once, not loop.
    assert {q["limit"] for q in fake.queries} == {"10", "1000"}


async def test_boundary_groups_smaller_than_a_page() -> None:
    # Every group fits in a page (a group as big as a page would be looked at whole).
    groups = [(T0 + timedelta(seconds=s), n) for s, n in enumerate([3, 2, 1, 3, 2, 3, 1])]
    fake = FakePsa(pins_at(groups))
    got = await listing(fake, page_size=4)
    assert_exactly_once(got, fake)
    assert {q["limit"] for q in fake.queries} == {"4"}


async def test_without_count_and_with_a_service_that_caps_pages() -> None:
    groups = [(T0 + timedelta(milliseconds=ms), 1) for ms in range(0, 5000, 37)]
    fake = FakePsa(pins_at(groups), digits=3, send_count=False)
    assert_exactly_once(await listing(fake, page_size=9), fake)
    capped = FakePsa(pins_at(groups), digits=3, max_limit=7)
    assert_exactly_once(await listing(capped, page_size=20), capped)


async def test_other_statuses_and_empty_accounts() -> None:
    pins = pins_at([(T0, 3)])
    pins.append(StoredPin("queued-1", v1("queued"), T0 + timedelta(seconds=1), status="queued"))
    fake = FakePsa(pins)
    got = await listing(fake)
    assert_exactly_once(got, fake)
    assert all(q["status"] == "pinned" for q in fake.queries)
    assert await listing(FakePsa([])) == []


async def test_more_pins_in_one_instant_than_the_largest_page_is_an_error() -> None:
    fake = FakePsa(pins_at([(T0 + timedelta(seconds=5), 2), (T0, 1001)]))
    with pytest.raises(SourceError, match="more than 1000 pins share created times"):
        await listing(fake, page_size=100)


async def test_resume_from_a_created_and_list_only_newer_pins() -> None:
    pins = pins_at([(T0 + timedelta(seconds=s), 3) for s in range(10)])
    fake = FakePsa(pins)
    everything = await listing(fake, page_size=4)
    assert_exactly_once(everything, fake)
    # Stop after item 13, resume from its created: the pins sharing that second
    # come again (the journal absorbs them), nothing newer does, nothing is lost.
    stop = everything[13]
    resumed = await listing(fake, before=stop.created, page_size=4)
    same_second = [i for i in everything if i.created == stop.created]
    assert [i.cid for i in resumed] == [
        i.cid for i in everything if i in same_second or everything.index(i) > 13
    ]
    # after=: only what is at least that new (inclusive too).
    newest_three_seconds = await listing(fake, after=everything[8].created)
    assert [i.cid for i in newest_three_seconds] == [i.cid for i in everything[:9]]


async def test_a_pin_whose_cid_is_not_one_is_a_bad_line() -> None:
    pins = pins_at([(T0, 2)])
    pins.insert(1, StoredPin("bad", "Qmnot-a-cid", T0 - timedelta(seconds=1)))
    fake = FakePsa(pins)
    async with serve(fake.app()) as url:
        source = PsaSource(url + "/psa", SourceToken(Secret(fake.token), "test"))
        got = [entry async for entry in source]
    assert got[-1] == BadLine(f"psa:{url}/psa", 3, "Qmnot-a-cid", "not a CID: 'Qmnot-a-cid'")
    assert [type(e) for e in got[:2]] == [PinItem, PinItem]


async def test_pages_are_fetched_as_consumed_and_an_early_stop_closes_cleanly() -> None:
    fake = FakePsa(pins_at([(T0 + timedelta(seconds=s), 1) for s in range(50)]))
    async with serve(fake.app()) as url:
        source = PsaSource(url + "/psa", SourceToken(Secret(fake.token), "test"), page_size=10)
        async with aclosing(aiter(source)) as entries:
            first = [await anext(entries) for _ in range(3)]
        # Nothing was read ahead: one page for three items, none held beyond it.
        assert len(fake.queries) == 1
        assert len(first) == 3
