"""Cloud routes over real HTTP: auth, tokens, endpoint list, job and pin listings."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bulkpin.service.cloud import _is_loopback
from tests.support.service import ServiceProcess, wait_for

from .helpers import (
    Account,
    access_token,
    cid_of,
    get,
    jobs,
    pin_file,
    raw_exchange,
    request,
    status_of,
    upload_parts,
)


def test_ping_accepts_the_api_key_and_rejects_others(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    assert get(service.cloud_url + "/ping", account).json() == {"Success": True}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": account.api_key},
                    {"Authorization": "Basic " + account.api_key}):
        reply = request("GET", service.cloud_url + "/ping", headers=headers)
        assert reply.status == 401
        assert reply.json() == {"Code": 401, "Message": "Invalid token"}


def test_keys_of_another_data_dir_are_foreign(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    one, two = service_factory(), service_factory()
    other = Account.load(two.profile_path)
    assert get(one.cloud_url + "/ping", other).status == 401
    token = access_token(two, other)
    reply = request("POST", one.endpoint_urls[0] + "/pinning/pinByHash",
                    headers={"UserAccessToken": token}, body=b"{}")
    assert reply.status == 401


def test_endpoint_list_names_every_endpoint(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--endpoint-ports", "0,0")
    account = Account.load(svc.profile_path)
    listed = get(svc.cloud_url + "/endpoint/list", account).json()
    assert listed == [
        {"id": 1, "name": "Local 1", "apiHost": svc.endpoint_urls[0]},
        {"id": 2, "name": "Local 2", "apiHost": svc.endpoint_urls[1]},
    ]
    # Both endpoints accept uploads for the same account.
    token = access_token(svc, account)
    for index in (0, 1):
        data = f"endpoint {index}".encode()
        assert pin_file(svc, token, upload_parts(data, account), endpoint=index).status == 200


def test_access_tokens_expire(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--token-ttl", "1")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    data = b"before expiry"
    assert pin_file(svc, token, upload_parts(data, account)).status == 200
    time.sleep(1.2)
    reply = pin_file(svc, token, upload_parts(b"after expiry", account))
    assert reply.status == 401
    assert reply.json()["Message"] == "Token expired"
    assert pin_file(svc, access_token(svc, account), upload_parts(b"fresh", account)).status == 200


def test_tokens_are_not_interchangeable(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    token = access_token(service, account)
    assert request("GET", service.cloud_url + "/ping",
                   headers={"Authorization": f"Bearer {token}"}).status == 401
    reply = request("POST", service.endpoint_urls[0] + "/pinning/pinByHash",
                    headers={"UserAccessToken": account.api_key}, body=b"{}")
    assert reply.status == 401


def _populate(svc: ServiceProcess, account: Account, count: int) -> list[str]:
    token = access_token(svc, account)
    cids = []
    for i in range(count):
        data = f"file number {i}".encode()
        assert pin_file(svc, token, upload_parts(data, account, filename=f"f{i}.txt")).status == 200
        cids.append(cid_of(data))
    return cids


def test_pin_jobs_filters_sorts_and_pages(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    cids = _populate(service, account, 7)
    wait_for(lambda: jobs(service, account, status="pinned")["Count"] == 7)
    everything = jobs(service, account)
    assert everything["Count"] == 7
    assert len(everything["Jobs"]) == 5  # the default limit
    assert [j["PinHash"] for j in everything["Jobs"]] == cids[::-1][:5]  # DESC by default
    ascending = jobs(service, account, sort="ASC", limit=1000)
    assert [j["PinHash"] for j in ascending["Jobs"]] == cids
    page = jobs(service, account, sort="ASC", offset=5, limit=5)
    assert [j["PinHash"] for j in page["Jobs"]] == cids[5:]
    assert page["Count"] == 7
    one = jobs(service, account, **{"pin-hash": cids[3]})
    assert one["Count"] == 1
    assert one["Jobs"][0]["Status"] == "pinned"
    assert set(one["Jobs"][0]) == {"Id", "Status", "PinHash"}
    assert jobs(service, account, status="failed") == {"Count": 0, "Jobs": []}
    assert jobs(service, account, limit=0)["Jobs"] == []


@pytest.mark.parametrize(
    "query",
    [{"limit": "1001"}, {"limit": "-1"}, {"limit": "ten"}, {"limit": "1e3"}, {"offset": "-5"},
     {"offset": "x"}, {"sort": "UP"}, {"status": "done"}, {"pin-hash": "not-a-cid"},
     {"limit": "9" * 40}],
)
def test_pin_jobs_rejects_bad_parameters(service: ServiceProcess, query: dict[str, str]) -> None:
    account = Account.load(service.profile_path)
    reply = get(service.cloud_url + "/pinning/pinJobs", account, **query)
    assert reply.status == 400
    assert reply.json()["Code"] == 400


def test_pin_list_dates_and_metadata(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    cids = _populate(service, account, 3)
    pins = get(service.cloud_url + "/pinning/pinList", account, sort="ASC").json()
    assert pins["Count"] == 3
    assert [p["PinHash"] for p in pins["Pins"]] == cids
    first, last = pins["Pins"][0], pins["Pins"][-1]
    assert first["Metadata"] == {"name": "f0.txt"}
    assert first["PinSize"] == len(b"file number 0")
    assert first["PinDate"].endswith("Z")
    # Dates read back from an answer filter exactly (both ends inclusive).
    window = get(service.cloud_url + "/pinning/pinList", account, sort="ASC",
                 **{"start-date": first["PinDate"], "end-date": first["PinDate"]}).json()
    assert [p["PinHash"] for p in window["Pins"]] == [
        p["PinHash"] for p in pins["Pins"] if p["PinDate"] == first["PinDate"]
    ]
    after = get(service.cloud_url + "/pinning/pinList", account,
                **{"start-date": last["PinDate"]}).json()
    assert last["PinHash"] in [p["PinHash"] for p in after["Pins"]]
    future = get(service.cloud_url + "/pinning/pinList", account,
                 **{"start-date": "2999-01-01"}).json()
    assert future == {"Count": 0, "Pins": []}
    for bad in ({"start-date": "yesterday"}, {"end-date": "2024-13-01"}, {"limit": "1001"}):
        assert get(service.cloud_url + "/pinning/pinList", account, **bad).status == 400


def test_accounts_are_isolated(service: ServiceProcess) -> None:
    alice = Account.load(service.profile_path)
    bob = Account.load(service.new_account("bob"))
    assert bob.cloud_url == service.cloud_url
    _populate(service, alice, 2)
    assert jobs(service, bob) == {"Count": 0, "Jobs": []}
    assert get(service.cloud_url + "/pinning/pinList", bob).json() == {"Count": 0, "Pins": []}
    # Bob cannot sign for Alice: his secret is refused on her behalf, and vice versa.
    data = b"bob's file"
    reply = pin_file(service, access_token(service, alice),
                     upload_parts(data, alice, secret=bob.sign(cid_of(data))))
    assert reply.status == 403
    assert pin_file(service, access_token(service, bob), upload_parts(data, bob)).status == 200
    assert jobs(service, bob)["Count"] == 1
    assert jobs(service, alice)["Count"] == 2


def test_unknown_routes_and_methods_answer_json(service: ServiceProcess) -> None:
    reply = request("GET", service.cloud_url + "/no/such/route")
    assert (reply.status, reply.json()["Code"]) == (404, 404)
    reply = request("POST", service.cloud_url + "/ping")
    assert (reply.status, reply.json()["Code"]) == (405, 405)
    reply = request("GET", service.endpoint_urls[0] + "/pinning/pinFile")
    assert (reply.status, reply.json()["Code"]) == (405, 405)
    # Cloud routes are not served by an Endpoint and vice versa.
    assert request("GET", service.endpoint_urls[0] + "/ping").status == 404
    assert request("POST", service.cloud_url + "/pinning/pinFile").status == 404


def test_protocol_errors_answer_json(service: ServiceProcess) -> None:
    raw = raw_exchange(service.cloud_url, b"NOT AN HTTP REQUEST\r\n\r\n")
    assert status_of(raw) == 400
    assert b'"Code":400' in raw


def test_rate_limit_answers_429_with_retry_after(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--rate-limit", "3/min")
    account = Account.load(svc.profile_path)
    statuses = [get(svc.cloud_url + "/ping", account).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    reply = get(svc.cloud_url + "/ping", account)
    assert reply.status == 429
    assert int(reply.headers["Retry-After"]) >= 1
    # Another account has its own bucket.
    bob = Account.load(svc.new_account("bob"))
    assert get(svc.cloud_url + "/ping", bob).status == 200


def test_admin_stats_counts(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    token = access_token(service, account)
    data = b"counted twice"
    for _ in range(2):
        assert pin_file(service, token, upload_parts(data, account)).status == 200
    assert pin_file(service, token, upload_parts(b"once", account)).status == 200
    assert pin_file(service, token, upload_parts(b"bad", account, secret="AAAA")).status == 403
    wait_for(lambda: service.stats()["jobs"]["pinned"] == 3)
    stats = service.stats()
    assert stats["pins"] == 3
    assert stats["duplicate_jobs"] == 1
    assert stats["requests"]["pinFile"] == {"200": 3, "403": 1}
    assert stats["requests"]["accessToken"] == {"200": 1}
    assert stats["bytes_received"] >= 2 * len(data) + len(b"once")
    assert stats["jobs"] == {"queued": 0, "pinning": 0, "pinned": 3, "failed": 0}


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("::ffff:127.0.0.1", True),
     ("10.0.0.1", False), ("192.168.1.2", False), ("::ffff:8.8.8.8", False), ("", False),
     (None, False), ("not an address", False)],
)
def test_admin_is_for_loopback_peers_only(peer: str | None, allowed: bool) -> None:
    assert _is_loopback(peer) is allowed
