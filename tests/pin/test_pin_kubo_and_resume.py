"""A kubo node as the source (the fake of its RPC API), and a PSA listing resumed mid-way."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from bulkpin.migrate import PinJournal, PinOptions, migrate
from bulkpin.sources import PinSource, PsaSource, load_token
from tests.sources.cids import inline
from tests.sources.fake_kubo import FakeKubo, FakePin
from tests.sources.fake_psa import FakePsa, StoredPin
from tests.sources.loopback import serve
from tests.support.service import ServiceProcess

from .helpers import Source, assert_migrated, pin_command

pytestmark = pytest.mark.anyio


async def test_a_kubo_node_is_a_source(source: Source, dest: ServiceProcess) -> None:
    names = dict(list(source.pins.items())[:40])
    kubo = FakeKubo(pins=[FakePin(cid, name=name) for cid, name in names.items()]
                    + [FakePin(inline("direct-one"), type="direct")],
                    extra_lines=[b'{"Cid": "QmBroken", "Type": "recursive"}\n'])
    async with serve(kubo.app()) as url:
        env = {k: v for k, v in os.environ.items() if k != "BULKPIN_PROFILE"}
        result = await anyio.run_process(pin_command(dest, "--from", f"kubo:{url}"),
                                         check=False, env=env)
    stderr = result.stderr.decode()
    # The broken line is reported with its position in the listing; the rest is pinned.
    assert result.returncode == 1, stderr
    assert f"kubo:{url}:41" in stderr
    assert_migrated(dest, names)
    assert kubo.requests
    assert all(q["type"] == "recursive" for q in kubo.requests)


async def test_a_stopped_psa_listing_resumes_where_it_stopped(tmp_path: Path) -> None:
    """Dry runs over a fake PSA with small pages: the second starts at ``before=``."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    fake = FakePsa(pins=[StoredPin(f"r{i}", inline(f"psa-{i}"), start + timedelta(seconds=i))
                         for i in range(300)], digits=3)
    journal_path = tmp_path / "j.sqlite"
    options = PinOptions(dry_run=True, journal=journal_path)
    async with serve(fake.app()) as url:
        token = load_token(token_env="T", environ={"T": fake.token})

        def relist(*, before: str | None = None, after: str | None = None) -> PinSource:
            return PsaSource(f"{url}/psa", token, page_size=20, before=before, after=after)

        stop = anyio.Event()
        seen = 0

        def on_event(event: object) -> None:
            nonlocal seen
            if type(event).__name__ == "PinEvent":
                seen += 1
                if seen == 230:
                    stop.set()

        first = await migrate(relist(), options, source_key="k", on_event=on_event, stop=stop,
                              relist=relist)
        assert first.exit_status == 3
        asked = len(fake.queries)
        # The source gained pins meanwhile: the resumed run takes them too.
        fake.pins += [StoredPin(f"n{i}", inline(f"new-{i}"), start + timedelta(seconds=400 + i))
                      for i in range(5)]
        second = await migrate(relist(), options, source_key="k", relist=relist)
    assert second.exit_status == 0
    resumed = fake.queries[asked:]
    # Resumed at the stopped point (not from the newest pin), then only what came since.
    assert "before" in resumed[0]
    assert any("after" in q for q in resumed)
    assert len(resumed) < asked
    with PinJournal(journal_path) as journal:
        cids = {record.cid for record in journal.all_pins()}
    assert cids == {p.cid for p in fake.pins}
