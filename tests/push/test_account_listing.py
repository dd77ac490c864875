"""The account listing reads ahead a page, and still fails as itself.

Against an aiohttp server on loopback that serves ``pinList`` pages of 2,500
pins (3 pages), with faults chosen per request: the index must end up whole,
and a refused listing must stop the run with its own message, not an
exception group from the read-ahead task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from bulkpin.client import Credentials, DecooClient, Secret
from bulkpin.core.errors import ExitStatus, RunAborted
from bulkpin.journal import Journal
from bulkpin.push.account_index import AccountIndex
from bulkpin.signing import generate_private_key
from bulkpin.unixfs.node import cid_to_str
from tests.client.helpers import Sleeps
from tests.sources.loopback import serve

pytestmark = pytest.mark.anyio

API_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
START = datetime(2026, 11, 29, tzinfo=UTC)
PINS = [
    {"Id": f"pin-{i}", "PinHash": cid_to_str(b"\x12\x20" + hashlib.sha256(b"%d" % i).digest()),
     "PinSize": i, "PinDate": (START + timedelta(seconds=i)).isoformat(), "Metadata": {}}
    for i in range(2500)
]


def _app(fault: Callable[[int, int], int | None]) -> web.Application:
    """``fault(offset, nth request)`` gives a status to answer instead, or None."""
    seen: list[int] = []

    async def pin_list(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        seen.append(offset)
        status = fault(offset, len(seen))
        if status is not None:
            return web.json_response({"error": "injected"}, status=status)
        return web.json_response({"Count": len(PINS), "Pins": PINS[offset:offset + limit]})

    async def pin_jobs(request: web.Request) -> web.Response:
        return web.json_response({"Count": 0, "Jobs": []})

    app = web.Application()
    app.router.add_get("/pinning/pinList", pin_list)
    app.router.add_get("/pinning/pinJobs", pin_jobs)
    return app


async def _refresh(url: str, tmp_path: Path) -> tuple[AccountIndex, list[str]]:
    credentials = Credentials(url, Secret(API_KEY), generate_private_key(2048))
    warnings: list[str] = []
    journal = Journal(tmp_path / "j.sqlite", profile_name="kubo")
    async with DecooClient(credentials, sleep=Sleeps()) as client:
        index = AccountIndex(journal)
        await index.refresh_patiently(client, 60.0, warnings.append)
    return index, warnings


async def test_every_page_is_stored_though_one_fails_first(tmp_path: Path) -> None:
    async with serve(_app(lambda offset, nth: 503 if offset > 0 and nth <= 3 else None)) \
            as url:
        index, _ = await _refresh(url, tmp_path)
    assert index.pin_count() == len(PINS)
    assert index.holds(str(PINS[1700]["PinHash"])) is not None


async def test_a_refused_listing_stops_the_run_with_its_own_reason(tmp_path: Path) -> None:
    async with serve(_app(lambda offset, nth: 401 if offset > 0 else None)) as url:
        with pytest.raises(RunAborted) as caught:
            await _refresh(url, tmp_path)
    assert caught.value.exit_status == ExitStatus.USAGE
    assert "cannot list the account's pins" in str(caught.value)


async def test_a_job_that_finishes_during_the_listing_is_still_known(tmp_path: Path) -> None:
    """A job pinning when the listing starts and pinned before it ends: held either way.

    The server finishes the job as it answers the request for the account's
    total, the last pins request. Listed pins-first, the job was in no pins
    page and no longer among the unfinished jobs, and a resumed run sent its
    CID again (a flaky kill -9 test found it).
    """
    done = _cid(b"late")
    state = {"pinned": False}

    async def pin_list(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        pins = PINS[:10] + ([_pin(done)] if state["pinned"] else [])
        answer = {"Count": len(pins), "Pins": pins[offset:offset + limit]}
        if limit == 1:
            state["pinned"] = True  # finishes just after the total was counted
        return web.json_response(answer)

    async def pin_jobs(request: web.Request) -> web.Response:
        running = request.query.get("status") == "pinning" and not state["pinned"]
        jobs = [{"Id": "job-late", "Status": "pinning", "PinHash": done}] if running else []
        return web.json_response({"Count": len(jobs), "Jobs": jobs})

    app = web.Application()
    app.router.add_get("/pinning/pinList", pin_list)
    app.router.add_get("/pinning/pinJobs", pin_jobs)
    async with serve(app) as url:
        index, _ = await _refresh(url, tmp_path)
    held = index.holds(done)
    assert held is not None
    assert held.job_id == "job-late"
    assert index.holds(str(PINS[3]["PinHash"])) is not None


def _cid(seed: bytes) -> str:
    return cid_to_str(b"\x12\x20" + hashlib.sha256(seed).digest())


def _pin(cid: str) -> dict[str, object]:
    return {"Id": "pin-late", "PinHash": cid, "PinSize": 7,
            "PinDate": (START + timedelta(days=1)).isoformat(), "Metadata": {}}


async def test_a_stop_during_the_listings_retries_ends_them(tmp_path: Path) -> None:
    """Ctrl-C while the Cloud is unreachable: the listing stops trying, at once.

    Before, the listing's pauses ignored the stop and it kept trying until the
    patience ran out (a second Ctrl-C was needed). Each failed try is warned
    with the patience left.
    """
    tries: list[int] = []

    async def refused(request: web.Request) -> web.Response:
        tries.append(1)
        return web.json_response({"error": "down"}, status=503)

    app = web.Application()
    app.router.add_get("/pinning/pinList", refused)
    app.router.add_get("/pinning/pinJobs", refused)
    warnings: list[str] = []
    stop = anyio.Event()

    def warn(message: str) -> None:
        warnings.append(message)
        stop.set()  # the operator's Ctrl-C, after the first failed try

    async with serve(app) as url:
        credentials = Credentials(url, Secret(API_KEY), generate_private_key(2048))
        journal = Journal(tmp_path / "j.sqlite", profile_name="kubo")
        async with DecooClient(credentials, sleep=Sleeps()) as client:
            index = AccountIndex(journal)
            # A guard, not a measure: without the stop this runs for the whole patience.
            with anyio.fail_after(60), pytest.raises(RunAborted) as caught:
                await index.refresh_patiently(client, 3600.0, warn, stop)
    assert caught.value.exit_status == ExitStatus.INTERRUPTED
    assert "interrupted while listing the account" in str(caught.value)
    assert len(warnings) == 1
    assert "giving up in" in warnings[0]
    # One listing attempt's requests (the client's own retries), and no second round.
    assert len(tries) == client.retry_policy.max_attempts
