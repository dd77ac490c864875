"""The account index is never wrong (issue 23): what it calls held, the account holds.

- A listing by offset over jobs that finish while it is read: against an
  aiohttp server whose ``pinJobs`` set shrinks between requests on a seeded
  schedule, every job is seen as a job or as a pin; a listing whose ``Count``
  keeps ahead of it is stopped, naming it.
- A Cloud clock that steps back: against ``bulkpin serve`` run in this process
  on an injected clock, a pin removed behind an equal total is noticed, the
  file uploaded again and reported missing by ``check`` until it is.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bulkpin.client import Credentials, DecooClient, Secret, load_credentials
from bulkpin.core.errors import ExitStatus, RunAborted
from bulkpin.core.events import NoticeEvent
from bulkpin.core.offset_pages import OVERLAP
from bulkpin.journal import Journal
from bulkpin.push import PushOptions, check, push
from bulkpin.push.account_index import AccountIndex
from bulkpin.service.config import ServiceConfig
from bulkpin.service.server import LocalService
from bulkpin.signing import generate_private_key
from bulkpin.unixfs.node import cid_to_str
from tests.client.helpers import Sleeps
from tests.service.helpers import Account, access_token, cid_of, get, pin_by_hash, request
from tests.sources.loopback import serve

pytestmark = pytest.mark.anyio

API_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
START = datetime(2026, 11, 29, tzinfo=UTC)


def _cid(n: int) -> str:
    return cid_to_str(b"\x12\x20" + hashlib.sha256(b"job %d" % n).digest())


class _MovingAccount:
    """Jobs that turn ``pinned`` between page requests, oldest first, on a seeded schedule."""

    def __init__(self, jobs: int, seed: int, most: int) -> None:
        self.pinning = list(range(jobs))
        self.pinned: list[int] = []
        self.rng = random.Random(seed)
        self.most = most
        self.job_requests = 0

    def _finish_some(self) -> None:
        k = min(len(self.pinning), self.rng.randint(0, self.most))
        self.pinned += self.pinning[:k]
        del self.pinning[:k]

    async def pin_jobs(self, request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        if request.query.get("status") != "pinning":
            return web.json_response({"Count": 0, "Jobs": []})
        self.job_requests += 1
        if offset > 0:
            self._finish_some()  # between this page and the one before
        page = self.pinning[offset:offset + limit]
        return web.json_response({"Count": len(self.pinning), "Jobs": [
            {"Id": f"job-{n}", "Status": "pinning", "PinHash": _cid(n)} for n in page]})

    async def pin_list(self, request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        pins = [{"Id": f"pin-{n}", "PinHash": _cid(n), "PinSize": n,
                 "PinDate": (START + timedelta(seconds=n)).isoformat(), "Metadata": {}}
                for n in self.pinned]
        return web.json_response({"Count": len(pins), "Pins": pins[offset:offset + limit]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/pinning/pinList", self.pin_list)
        app.router.add_get("/pinning/pinJobs", self.pin_jobs)
        return app


async def _refresh(url: str, tmp_path: Path) -> AccountIndex:
    credentials = Credentials(url, Secret(API_KEY), generate_private_key(2048))
    journal = Journal(tmp_path / "j.sqlite", profile_name="kubo")
    async with DecooClient(credentials, sleep=Sleeps()) as client:
        index = AccountIndex(journal)
        await index.refresh_patiently(client, 60.0, lambda message: None)
    return index


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_jobs_that_finish_while_listed_are_each_seen(tmp_path: Path, seed: int) -> None:
    """Up to 2.5 overlaps' worth finish between two pages: none falls between them.

    Paged by plain offsets, each page boundary lost the jobs that shifted past
    it (the issue's reproduction: 12 duplicate jobs of 6,000).
    """
    account = _MovingAccount(4000, seed, most=OVERLAP * 5 // 2)
    async with serve(account.app()) as url:
        index = await _refresh(url, tmp_path)
    assert account.pinned, "the schedule moved no job: the test would prove nothing"
    unseen = [n for n in range(4000) if index.holds(_cid(n)) is None]
    assert unseen == []
    # Pages overlap by OVERLAP, and step back when more than that moved: bounded.
    assert account.job_requests <= 4000 // (1000 - OVERLAP) + 12


async def test_a_listing_whose_count_keeps_ahead_is_stopped_by_name(tmp_path: Path) -> None:
    """A ``Count`` one page ahead of every answer would page for ever, growing the journal."""

    async def pin_jobs(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        jobs = [{"Id": f"job-{n}", "Status": "queued", "PinHash": _cid(n)}
                for n in range(offset, offset + limit)]
        return web.json_response({"Count": offset + 2 * limit, "Jobs": jobs})

    async def pin_list(request: web.Request) -> web.Response:
        return web.json_response({"Count": 0, "Pins": []})

    app = web.Application()
    app.router.add_get("/pinning/pinJobs", pin_jobs)
    app.router.add_get("/pinning/pinList", pin_list)
    async with serve(app) as url:
        with pytest.raises(RunAborted) as caught:
            await _refresh(url, tmp_path)
    assert caught.value.exit_status == ExitStatus.INTERRUPTED
    assert "queued jobs listing does not converge" in str(caught.value)


# -- a Cloud clock that steps back ------------------------------------------------------


class _Clock:
    """The service's wall clock, ``offset`` seconds from the host's."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


DAY = 86400.0


async def _push(svc: LocalService, root: Path, journal: Path) -> Any:
    credentials = load_credentials(profile=svc.profile_path, env={})
    options = PushOptions(journal=journal, poll_interval=0.02, concurrency=4)
    async with DecooClient(credentials) as client:
        return await push([str(root)], options, client=client)


async def _check(svc: LocalService, root: Path, journal: Path) -> dict[str, int]:
    credentials = load_credentials(profile=svc.profile_path, env={})
    async with DecooClient(credentials) as client:
        summary = await check([str(root)], PushOptions(journal=journal), client=client)
    return {str(k): v for k, v in summary.counts.items()}


def _remove_pin(svc: LocalService, cid: str) -> None:
    account = Account.load(svc.profile_path)
    found = get(svc.cloud_url + f"/psa/pins?cid={cid}", account).json()["results"]
    assert len(found) == 1
    reply = request("DELETE", svc.cloud_url + f"/psa/pins/{found[0]['requestid']}",
                    headers=account.cloud_headers())
    assert reply.status == 202, reply.body


def _pinned_cids(svc: LocalService) -> set[str]:
    account = Account.load(svc.profile_path)
    pins = get(svc.cloud_url + "/pinning/pinList?limit=1000", account).json()["Pins"]
    return {pin["PinHash"] for pin in pins}


@pytest.mark.parametrize("removed_in", ["the window", "before the window"])
async def test_a_removal_behind_a_clock_that_stepped_back_is_noticed(
    tmp_path: Path, removed_in: str
) -> None:
    """Pins dated ahead, the clock corrected, one pin removed and another added: the
    total is equal, yet the removed file is missing and is uploaded again.

    "the window": the removed pin is dated inside the listing's window (from the
    newest date seen, less a day), caught by the window's count. "before the
    window": it is older, and only the Cloud's ``Date`` header, behind the
    newest pin date seen, tells that the clock stepped back.
    """
    clock = _Clock()
    tree, other = tmp_path / "tree", tmp_path / "other"
    tree.mkdir()
    other.mkdir()
    journal = tmp_path / "j.sqlite"
    async with LocalService(ServiceConfig(data_dir=tmp_path / "svc", job_delay=0.01),
                            clock=clock) as svc:
        (tree / "old").write_bytes(b"the file that is removed")
        if removed_in == "before the window":
            clock.offset = -10 * DAY
            assert (await _push(svc, tree, journal)).exit_status == 0
        clock.offset = 3 * DAY  # the Cloud's clock runs ahead...
        (tree / "kept").write_bytes(b"the file that stays")
        assert (await _push(svc, tree, journal)).exit_status == 0
        old_cid = cid_of(b"the file that is removed")
        clock.offset = 0.0  # ... and is put right
        await asyncio.to_thread(_remove_pin, svc, old_cid)
        (other / "new").write_bytes(b"a pin that keeps the total equal")
        assert (await _push(svc, other, tmp_path / "other.sqlite")).exit_status == 0
        assert old_cid not in await asyncio.to_thread(_pinned_cids, svc)

        counts = await _check(svc, tree, journal)
        assert counts["missing"] == 1, counts
        again = await _push(svc, tree, journal)
        assert again.exit_status == 0, again.reason
        assert again.counts["pinned"] == 2
        assert again.listing is not None
        assert again.listing.rebuilt
        assert again.snapshot.count("uploaded") == 1
        assert old_cid in await asyncio.to_thread(_pinned_cids, svc)
        assert (await _check(svc, tree, journal))["on_account"] == 2


# -- a job push did not make is a hint, not a holding -----------------------------------


def _pin_by_hash(svc: LocalService, cid: str) -> None:
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    reply = pin_by_hash(svc, token, {"hashToPin": cid, "secret": account.sign(cid)})  # type: ignore[arg-type]
    assert reply.status == 200, reply.body


async def test_someone_elses_job_that_fails_is_followed_by_an_upload(tmp_path: Path) -> None:
    """``pin <CID> --no-wait`` of content nobody has, then ``push`` of the file: the job
    fails (nothing can fetch it), and push, which had the bytes, uploads it in the run.

    Before, the pending job counted as on the account: check said so, push sent
    nothing, and the file ended failed with the job.
    """
    tree = tmp_path / "tree"
    tree.mkdir()
    data = b"content that only this machine has"
    (tree / "only").write_bytes(data)
    (tree / "plain").write_bytes(b"an ordinary file")
    cid = cid_of(data)
    journal = tmp_path / "j.sqlite"
    # No gateway: a pinByHash job fails once --fetch-timeout passes without the content.
    config = ServiceConfig(data_dir=tmp_path / "svc", job_delay=0.01, fetch_timeout=3.0)
    async with LocalService(config) as svc:
        await asyncio.to_thread(_pin_by_hash, svc, cid)
        counts = await _check(svc, tree, journal)
        assert (counts["pending"], counts["on_account"], counts["missing"]) == (1, 0, 1)

        notices: list[str] = []
        credentials = load_credentials(profile=svc.profile_path, env={})
        options = PushOptions(journal=journal, poll_interval=0.05, concurrency=4)
        async with DecooClient(credentials) as client:
            summary = await push([str(tree)], options, client=client, on_event=lambda e:
                                 notices.append(e.message) if isinstance(e, NoticeEvent) else None)
        assert summary.exit_status == 0, summary.reason
        assert summary.counts["pinned"] == 2
        assert any("the account's job for its content failed; uploading it" in n
                   for n in notices), notices
        assert summary.snapshot.count("uploaded") == 2
        assert cid in await asyncio.to_thread(_pinned_cids, svc)
        counts = await _check(svc, tree, journal)
        assert (counts["pending"], counts["on_account"]) == (0, 2)
