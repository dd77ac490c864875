"""The poller's rounds against a real ``bulkpin serve`` (no mock of the HTTP layer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from bulkpin.cli.display import jobs_waiting
from bulkpin.client import DecooClient, load_credentials
from bulkpin.fs import FileIdentity
from bulkpin.push import Accounting, Journal, Poller, PollSchedule
from bulkpin.service import ServeProcess
from bulkpin.units import human_duration
from bulkpin.unixfs import hash_bytes

pytestmark = pytest.mark.anyio


async def _followed(journal: Journal, client: DecooClient, cid: str) -> None:
    """A file of ``journal`` uploaded as ``cid``, with the job a pinByHash of it made."""
    record = journal.discover(b"/x/f", b"x/f", journal.root_id(b"/x"), FileIdentity(8, 1, 1))
    job = await client.pin_by_hash(cid)
    journal.mark_uploaded(record.id, cid, job.job_id)


async def test_a_failed_job_seen_again_is_not_progress(
    service_factory: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    # pinByHash of content the service does not hold fails after --fetch-timeout.
    svc = service_factory("--fetch-timeout", "0.2")
    cid = hash_bytes(b"content nobody has").cid
    with Journal(tmp_path / "j.sqlite", profile_name="unixfs-v0-2015") as journal:
        async with DecooClient(load_credentials(profile=svc.profile_path, env={})) as client:
            await _followed(journal, client, cid)
            for _ in range(600):  # the service's own clock fails the job; ask until it has
                if (await client.pin_jobs_page(pin_hash=cid)).jobs[0].status.value == "failed":
                    break
                await anyio.sleep(0.05)
            clock = [1000.0]
            acct = Accounting()
            poller = Poller(client, journal, acct, wait_timeout=600, clock=lambda: clock[0])
            first = await poller.poll_once()
            clock[0] += 90
            second = await poller.poll_once()
    assert first.failed == 1
    # What the display says it waits for: a failed job the service may retry, and how long.
    snap = acct.snapshot()
    assert (snap.waiting_jobs, snap.failing_jobs, snap.gives_up_in) == (1, 1, 510.0)
    assert jobs_waiting(snap.waiting_jobs, snap.failing_jobs, snap.gives_up_in) == (
        "waiting for 1 pin job(s), 1 failed: waiting for the service to retry it, up to"
        f" {human_duration(510.0)} more (--wait-timeout)")
    # The same failed job again: no news, so the schedule may back off.
    assert second.failed == 0
    assert second.waiting == 1  # still revivable: failed is not final before the timeout


async def test_a_journal_that_cannot_be_written_while_polling_is_not_an_outage(
    service_factory: Callable[..., ServeProcess], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full disk under the journal during polling ends the run as the journal's error
    (exit 2, with its path), not as "service unreachable" after --patience (exit 3):
    the poller used to catch every exception as an outage."""
    svc = service_factory()
    cid = hash_bytes(b"followed").cid
    with Journal(tmp_path / "j.sqlite", profile_name="unixfs-v0-2015") as journal:
        async with DecooClient(load_credentials(profile=svc.profile_path, env={})) as client:
            await _followed(journal, client, cid)

            def full(*args: object) -> int:
                raise sqlite3.OperationalError("database or disk is full")

            monkeypatch.setattr(journal, "set_job_status", full)
            poller = Poller(client, journal, Accounting(), wait_timeout=600)
            done = anyio.Event()
            done.set()
            warnings: list[str] = []
            with anyio.fail_after(60), pytest.raises(sqlite3.OperationalError):
                await poller.follow(PollSchedule(wait=True, interval=0.01), patience=3600,
                                    uploads_done=done, stop=anyio.Event(),
                                    on_error=warnings.append)
    assert warnings == []
