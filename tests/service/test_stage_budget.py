"""Large uploads share a budget of extra stages; one that finds none still goes through."""

from __future__ import annotations

import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from bulkpin.service.stage_budget import StageBudget
from bulkpin.service.upload import STAGE, STAGES
from tests.support.service import ServiceProcess, wait_for
from tests.unixfs.content import content

from .helpers import Account, access_token, blob_files, cid_of, multipart, pin_file, upload_parts


def test_the_budget_counts_what_is_taken_and_given_back() -> None:
    budget = StageBudget(2)
    assert budget.try_take()
    assert budget.try_take()
    assert not budget.try_take()
    budget.give(1)
    assert budget.try_take()
    budget.give(2)
    assert budget.snapshot() == {"capacity": 2, "in_use": 0, "peak": 2}
    with pytest.raises(ValueError, match="giving back 1 stages, 0 are taken"):
        budget.give(1)
    with pytest.raises(ValueError, match="negative"):
        StageBudget(-1)


def _upload_all(svc: ServiceProcess, sizes: list[int], name: str) -> None:
    """Upload files of ``sizes`` at once; each must be stored whole under its CID."""
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    datas = [content(f"{name} {i}", size) for i, size in enumerate(sizes)]
    with ThreadPoolExecutor(len(datas)) as pool:
        replies = list(pool.map(
            lambda data: pin_file(svc, token, upload_parts(data, account), chunked=True), datas,
        ))
    for data, reply in zip(datas, replies, strict=True):
        assert reply.status == 200, reply.body
        cid = cid_of(data)
        assert reply.json()["PinHash"] == cid
        assert (svc.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data


def test_with_no_budget_large_uploads_go_through_on_one_stage_each(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--upload-memory", "0")
    # A stage boundary, one past it, and more than a whole ring.
    _upload_all(svc, [2 * STAGE, 2 * STAGE + 1, STAGE * (STAGES + 1) + 12345], "no budget")
    assert svc.stats()["upload_stages"] == {"capacity": 0, "in_use": 0, "peak": 0}


def test_concurrent_large_uploads_never_hold_more_than_the_budget(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--upload-memory", f"{STAGE}")  # one extra stage for all
    _upload_all(svc, [STAGE * 6 + i for i in range(4)], "shared")
    stages = svc.stats()["upload_stages"]
    assert stages["capacity"] == 1
    assert stages["peak"] == 1  # taken, and never more than there is
    assert stages["in_use"] == 0  # and given back


def test_an_upload_cut_short_gives_its_stages_back(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory()
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    body, ctype = multipart(upload_parts(content("cut", 3 * STAGE), account))
    host, port = svc.endpoint_urls[0].removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST /pinning/pinFile HTTP/1.1\r\nHost: {host}\r\nUserAccessToken: {token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) - STAGE // 2]
        )
        sock.shutdown(socket.SHUT_WR)  # the rest never comes
        while sock.recv(65536):
            pass
    # The connection closes as the service sees the body end; the handler
    # cleans up just after.
    stages = wait_for(lambda: (s := svc.stats()["upload_stages"])["in_use"] == 0 and s)
    assert stages["peak"] >= 1  # it had taken extra stages, and gave them back
    wait_for(lambda: blob_files(svc) == [])
