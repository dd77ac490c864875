"""Injected faults, seen by real clients; the spec parser; seeded replay."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from bulkpin.service import FaultSpecError, parse_faults
from tests.support.service import ServiceProcess, wait_for

from .helpers import Account, access_token, blob_files, get, multipart, pin_file, upload_parts


def test_parse_faults() -> None:
    plan = parse_faults("pinFile:503=0.1,reset=0.2; *:slow=0.05")
    assert plan.for_route("pinFile") == (("503", 0.1), ("reset", 0.2), ("slow", 0.05))
    assert plan.for_route("pinList") == (("slow", 0.05),)


@pytest.mark.parametrize(
    "spec",
    ["pinFile", "pinFile:", "nope:503=0.1", "pinFile:404=0.1", "pinFile:503", "pinFile:503=x",
     "pinFile:503=1.5", "pinFile:503=-0.1", "pinFile:503=0.6,500=0.6", "pinFile:503=0.6;*:429=0.5"],
)
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_faults(spec)


def test_bad_spec_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(tmp_path), "--init-only",
         "--faults", "pinFile:teapot=0.5"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "unknown fault 'teapot'" in result.stderr


@pytest.mark.parametrize("kind", ["503", "500", "429"])
def test_status_faults(service_factory: Callable[..., ServiceProcess], kind: str) -> None:
    svc = service_factory("--faults", f"pinJobs:{kind}=1")
    account = Account.load(svc.profile_path)
    reply = get(svc.cloud_url + "/pinning/pinJobs", account)
    assert reply.status == int(kind)
    assert reply.json()["Code"] == int(kind)
    if kind == "429":
        assert reply.headers["Retry-After"] == "1"
    assert get(svc.cloud_url + "/pinning/pinList", account).status == 200  # other routes unharmed


async def _aiohttp_upload(url: str, token: str, body: bytes, ctype: str) -> int:
    async with aiohttp.ClientSession() as session, session.post(
        url + "/pinning/pinFile", data=body,
        headers={"UserAccessToken": token, "Content-Type": ctype},
    ) as response:
        return response.status


@pytest.mark.parametrize("kind", ["reset", "drop"])
def test_reset_and_drop_are_connection_errors(
    service_factory: Callable[..., ServiceProcess], kind: str,
) -> None:
    svc = service_factory("--faults", f"pinFile:{kind}=1")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    body, ctype = multipart(upload_parts(b"q" * 3_000_000, account))
    with pytest.raises(aiohttp.ClientError):
        asyncio.run(_aiohttp_upload(svc.endpoint_urls[0], token, body, ctype))
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        pin_file(svc, token, upload_parts(b"r" * 100, account))
    stats = wait_for(lambda: svc.stats() if sum(svc.stats()["requests"]["pinFile"].values()) == 2
                     else None)
    assert stats["requests"]["pinFile"] == {kind: 2}
    if kind == "drop":
        # The work was done and committed before the connection was cut.
        assert stats["pins"] == 2
        assert len(blob_files(svc)) == 2
    else:
        assert stats["pins"] == 0
        assert blob_files(svc) == []


def test_slow_answers_late_but_does_the_work(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--faults", "pinFile:slow=1")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    body, ctype = multipart(upload_parts(b"slow one", account))
    conn = http.client.HTTPConnection(svc.endpoint_urls[0].split("//")[1], timeout=0.5)
    conn.request("POST", "/pinning/pinFile", body=body,
                 headers={"UserAccessToken": token, "Content-Type": ctype})
    with pytest.raises(TimeoutError):
        conn.getresponse()
    conn.close()
    reply = pin_file(svc, token, upload_parts(b"slow two", account))
    assert reply.status == 200
    wait_for(lambda: svc.stats()["pins"] == 2)


def test_garbage_is_a_200_that_is_not_json(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--faults", "accessToken:garbage=1")
    account = Account.load(svc.profile_path)
    reply = get(svc.cloud_url + "/oauth/accessToken", account)
    assert reply.status == 200
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
        reply.json()


def test_faults_replay_with_the_same_seed(service_factory: Callable[..., ServiceProcess]) -> None:
    spec = "*:503=0.3,429=0.2"

    def run(seed: str) -> list[int]:
        svc = service_factory("--faults", spec, "--fault-seed", seed)
        account = Account.load(svc.profile_path)
        return [get(svc.cloud_url + "/pinning/pinList", account).status for _ in range(30)]

    first, again, other = run("7"), run("7"), run("8")
    assert first == again
    assert first != other
    assert set(first) == {200, 429, 503}
