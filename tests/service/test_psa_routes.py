"""The Pinning Service API under /psa and the gateway's GET /ipfs/{cid}, over real HTTP."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bulkpin.service.db import Database
from tests.support.service import ServiceProcess, wait_for

from .helpers import (
    Account,
    Reply,
    access_token,
    cid_of,
    get,
    jobs,
    pin_file,
    request,
    upload_parts,
)

QUEUED_CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
ALL = "queued,pinning,pinned,failed"


def psa(svc: ServiceProcess, account: Account | None, method: str, path: str,
        body: Any = None, **query: Any) -> Reply:
    url = svc.cloud_url + "/psa" + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = account.cloud_headers() if account else {}
    raw = None
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    return request(method, url, headers=headers, body=raw)


def listed(svc: ServiceProcess, account: Account, **query: Any) -> dict[str, Any]:
    reply = psa(svc, account, "GET", "/pins", **query)
    assert reply.status == 200, reply
    data = reply.json()
    assert isinstance(data, dict)
    return data


def upload(svc: ServiceProcess, account: Account, data: bytes, filename: str,
           metadata: str | None = None) -> str:
    reply = pin_file(svc, access_token(svc, account),
                     upload_parts(data, account, filename=filename, metadata=metadata,
                                  cid=cid_of(data, "unixfs-v1-2025") if metadata else None))
    assert reply.status == 200, reply
    cid = reply.json()["PinHash"]
    assert isinstance(cid, str)
    return cid


def check_failure(reply: Reply, status: int, reason: str, mentions: str = "") -> None:
    assert reply.status == status, reply
    body = reply.json()
    assert set(body) == {"error"}
    assert body["error"]["reason"] == reason
    assert mentions in body["error"]["details"]


def test_pins_made_by_pinfile_are_listed_with_their_names(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    cids = [upload(service, account, f"file {i}".encode(), f"name-{i}.txt") for i in range(3)]
    profiled = upload(service, account, b"v1 file", "ignored.bin",
                      metadata=json.dumps({"name": "by meta", "cidProfile": "unixfs-v1-2025"}))
    data = wait_for(lambda: (d := listed(service, account))["count"] == 4 and d)
    results = data["results"]
    # Newest first; names and metadata as uploaded.
    assert [r["pin"]["cid"] for r in results] == [profiled, *reversed(cids)]
    assert [r["pin"]["name"] for r in results] == ["by meta", "name-2.txt", "name-1.txt",
                                                   "name-0.txt"]
    assert results[0]["pin"]["meta"] == {"cidProfile": "unixfs-v1-2025"}
    assert results[1]["pin"]["meta"] == {}
    createds = [r["created"] for r in results]
    assert createds == sorted(createds, reverse=True)
    assert len(set(createds)) == 4
    for r in results:
        assert r["status"] == "pinned"
        assert r["delegates"]
        assert r["delegates"][0].startswith("/ip4/127.0.0.1/tcp/")
    # The request ids are the jobs pinJobs reports.
    job_ids = {j["Id"] for j in jobs(service, account, limit=10)["Jobs"]}
    assert {r["requestid"] for r in results} == job_ids


def test_add_get_replace_and_delete(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    first = upload(service, account, b"first content", "a")
    second = upload(service, account, b"second content", "b")
    added = psa(service, account, "POST", "/pins",
                {"cid": first, "name": "psa-first", "origins": ["/ip4/10.0.0.1/tcp/4001"],
                 "meta": {"app": "test"}})
    assert added.status == 202, added
    status = added.json()
    assert status["status"] == "queued"
    assert status["pin"] == {"cid": first, "name": "psa-first",
                             "origins": ["/ip4/10.0.0.1/tcp/4001"], "meta": {"app": "test"}}
    rid = status["requestid"]
    pinned = wait_for(lambda: (r := psa(service, account, "GET", f"/pins/{rid}").json())
                      ["status"] == "pinned" and r)
    assert pinned["created"] == status["created"]
    # The PSA pin is a pin job of the account, and its pin is in pinList.
    assert any(j["Id"] == rid for j in jobs(service, account, **{"pin-hash": first})["Jobs"])
    pins = get(service.cloud_url + "/pinning/pinList", account, limit=100).json()["Pins"]
    assert "psa-first" in [p["Metadata"]["name"] for p in pins]

    replaced = psa(service, account, "POST", f"/pins/{rid}", {"cid": second, "name": "psa-2"})
    assert replaced.status == 202, replaced
    new_rid = replaced.json()["requestid"]
    assert new_rid != rid
    assert replaced.json()["pin"]["cid"] == second
    check_failure(psa(service, account, "GET", f"/pins/{rid}"), 404, "NOT_FOUND", rid)
    pins = get(service.cloud_url + "/pinning/pinList", account, limit=100).json()["Pins"]
    assert "psa-first" not in [p["Metadata"]["name"] for p in pins]

    deleted = psa(service, account, "DELETE", f"/pins/{new_rid}")
    assert deleted.status == 202
    assert deleted.body == b""
    check_failure(psa(service, account, "GET", f"/pins/{new_rid}"), 404, "NOT_FOUND")
    check_failure(psa(service, account, "DELETE", f"/pins/{new_rid}"), 404, "NOT_FOUND")
    check_failure(psa(service, account, "POST", f"/pins/{new_rid}", {"cid": first}),
                  404, "NOT_FOUND")
    assert new_rid not in {j["Id"] for j in jobs(service, account, limit=100)["Jobs"]}


def test_pins_of_another_account_are_not_found(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    other = Account.load(service.new_account("other"))
    rid = psa(service, account, "POST", "/pins", {"cid": QUEUED_CID}).json()["requestid"]
    check_failure(psa(service, other, "GET", f"/pins/{rid}"), 404, "NOT_FOUND")
    check_failure(psa(service, other, "DELETE", f"/pins/{rid}"), 404, "NOT_FOUND")
    assert listed(service, other, status=ALL)["count"] == 0
    assert psa(service, account, "GET", f"/pins/{rid}").status == 200


def test_filters(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--fetch-timeout", "0.2")
    account = Account.load(svc.profile_path)
    held = [upload(svc, account, f"held {i}".encode(), f"Report-{i}.PDF") for i in range(3)]
    missing = psa(svc, account, "POST", "/pins",
                  {"cid": QUEUED_CID, "name": "Lost one", "meta": {"app": "x", "k": "v"}})
    assert missing.status == 202
    wait_for(lambda: listed(svc, account, status=ALL, cid=QUEUED_CID)["results"][0]["status"]
             == "failed")
    wait_for(lambda: listed(svc, account)["count"] == 3)

    def cids(**query: Any) -> list[str]:
        return [r["pin"]["cid"] for r in listed(svc, account, **query)["results"]]

    assert cids() == held[::-1]  # no status: pinned only
    assert cids(status="failed") == [QUEUED_CID]
    assert cids(status="failed,pinned") == [QUEUED_CID, *held[::-1]]
    assert cids(status="queued,pinning") == []
    assert cids(cid=f"{held[0]},{held[2]}") == [held[2], held[0]]
    assert cids(name="Report-1.PDF") == [held[1]]
    assert cids(name="report-1.pdf") == []
    assert cids(name="report-1.pdf", match="iexact") == [held[1]]
    assert cids(name="Report-", match="partial") == held[::-1]
    assert cids(name="report", match="partial") == []
    assert cids(name="REPORT", match="ipartial") == held[::-1]
    assert cids(status=ALL, meta=json.dumps({"app": "x"})) == [QUEUED_CID]
    assert cids(status=ALL, meta=json.dumps({"app": "x", "k": "other"})) == []
    # limit cuts the page, count still says how many match.
    page = listed(svc, account, limit=2)
    assert page["count"] == 3
    assert len(page["results"]) == 2
    # after and before are exclusive, on created.
    createds = [r["created"] for r in listed(svc, account)["results"]]
    assert cids(after=createds[2]) == held[:0:-1]
    assert cids(before=createds[0]) == held[1::-1]
    assert cids(after=createds[2], before=createds[0]) == [held[1]]


def test_paging_backwards_with_before_sees_every_pin_once(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    token = access_token(service, account)
    uploaded = []
    for i in range(23):
        data = f"paged {i}".encode()
        assert pin_file(service, token, upload_parts(data, account)).status == 200
        uploaded.append(cid_of(data))
    wait_for(lambda: listed(service, account)["count"] == 23)
    seen: list[str] = []
    query: dict[str, Any] = {"limit": 5}
    while True:
        page = listed(service, account, **query)
        if not page["results"]:
            break
        seen += [r["pin"]["cid"] for r in page["results"]]
        query["before"] = page["results"][-1]["created"]
    assert seen == uploaded[::-1]


def test_auth_failures(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    url = service.cloud_url + "/psa/pins"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": account.api_key},
                    {"Authorization": "Basic " + account.api_key}):
        check_failure(request("GET", url, headers=headers), 401, "UNAUTHORIZED")
        check_failure(request("POST", url, headers=headers, body=b"{}"), 401, "UNAUTHORIZED")
    # The access token (the Endpoints' credential) is not an API key.
    token = access_token(service, account)
    check_failure(request("GET", url, headers={"Authorization": f"Bearer {token}"}),
                  401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "done"}, "status"),
        ({"status": ","}, "status"),
        ({"cid": "not-a-cid"}, "cid"),
        ({"cid": ",".join([QUEUED_CID] * 1 + [cid_of(bytes([i])) for i in range(10)])}, "cid"),
        ({"match": "fuzzy", "name": "x"}, "match"),
        ({"name": "n" * 256}, "name"),
        ({"before": "yesterday"}, "before"),
        ({"after": "2024-13-01T00:00:00Z"}, "after"),
        ({"meta": "{not json"}, "meta"),
        ({"meta": "[1, 2]"}, "meta"),
        ({"meta": '{"a": 1}'}, "meta"),
    ],
)
def test_bad_filters_are_400(service: ServiceProcess, query: dict[str, str],
                             mentions: str) -> None:
    account = Account.load(service.profile_path)
    check_failure(psa(service, account, "GET", "/pins", **query), 400, "BAD_REQUEST", mentions)


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"not json", "JSON"),
        ([QUEUED_CID], "Pin"),
        ({}, "cid"),
        ({"cid": 42}, "cid"),
        ({"cid": "Qmnope"}, "cid"),
        ({"cid": QUEUED_CID, "name": 7}, "name"),
        ({"cid": QUEUED_CID, "name": "n" * 256}, "name"),
        ({"cid": QUEUED_CID, "origins": "/ip4/1.2.3.4"}, "origins"),
        ({"cid": QUEUED_CID, "origins": ["not-a-multiaddr"]}, "origins[0]"),
        ({"cid": QUEUED_CID, "origins": ["/a"] * 2}, "origins"),
        ({"cid": QUEUED_CID, "origins": [f"/o/{i}" for i in range(21)]}, "origins"),
        ({"cid": QUEUED_CID, "meta": ["a"]}, "meta"),
        ({"cid": QUEUED_CID, "meta": {"a": 1}}, "meta"),
    ],
)
def test_bad_pins_are_400(service: ServiceProcess, body: Any, mentions: str) -> None:
    account = Account.load(service.profile_path)
    check_failure(psa(service, account, "POST", "/pins", body), 400, "BAD_REQUEST", mentions)
    rid = psa(service, account, "POST", "/pins", {"cid": QUEUED_CID}).json()["requestid"]
    check_failure(psa(service, account, "POST", f"/pins/{rid}", body), 400, "BAD_REQUEST",
                  mentions)
    assert psa(service, account, "GET", f"/pins/{rid}").status == 200  # not replaced


def test_unknown_routes_and_methods_answer_in_the_psa_shape(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    check_failure(psa(service, account, "PUT", "/pins"), 405, "METHOD_NOT_ALLOWED")
    check_failure(psa(service, account, "GET", "/nothing"), 404, "NOT_FOUND")
    huge = {"cid": QUEUED_CID, "name": "x" * (2 << 20)}
    reply = psa(service, account, "POST", "/pins", huge)
    assert reply.status == 413
    # Python 3.13 renamed the status: either name will do.
    assert reply.json()["error"]["reason"] in {"REQUEST_ENTITY_TOO_LARGE", "CONTENT_TOO_LARGE"}


@pytest.mark.parametrize(("spec", "status"), [("psa:503=1", 503), ("psaList:429=1", 429)])
def test_faults_reach_the_psa_routes(
    service_factory: Callable[..., ServiceProcess], spec: str, status: int
) -> None:
    svc = service_factory("--faults", spec)
    account = Account.load(svc.profile_path)
    reply = psa(svc, account, "GET", "/pins")
    check_failure(reply, status, "SERVICE_UNAVAILABLE" if status == 503 else "TOO_MANY_REQUESTS",
                  "injected fault")
    if status == 429:
        assert reply.headers["Retry-After"] == "1"
    assert get(svc.cloud_url + "/pinning/pinJobs", account).status == 200  # Decoo unharmed


def test_the_gateway_serves_stored_files(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    data = bytes(range(256)) * 1000
    cid = upload(service, account, data, "bytes.bin")
    url = f"{service.cloud_url}/ipfs/{cid}"
    whole = request("GET", url)
    assert whole.status == 200
    assert whole.body == data
    assert whole.headers["Content-Type"] == "application/octet-stream"
    head = request("HEAD", url)
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers["Content-Length"]) == len(data)
    part = request("GET", url, headers={"Range": "bytes=1000-1999"})
    assert part.status == 206
    assert part.body == data[1000:2000]
    missing = request("GET", f"{service.cloud_url}/ipfs/{QUEUED_CID}")
    assert missing.status == 404
    assert request("GET", f"{service.cloud_url}/ipfs/nope").status == 400
    # CAR and raw answers: tests/service/test_trustless_gateway.py; formats not served:
    assert request("GET", url + "?format=tar").status == 406
    assert request("GET", url, headers={"Accept": "application/vnd.ipld.dag-json"}).status == 406


def test_serve_with_gateway_pins_from_another_serve(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    source = service_factory()
    data = b"content only the source holds"
    cid = upload(source, Account.load(source.profile_path), data, "only-here")
    dest = service_factory("--gateway", source.cloud_url + "/", "--gateway", source.cloud_url)
    account = Account.load(dest.profile_path)
    rid = psa(dest, account, "POST", "/pins", {"cid": cid, "name": "only-here"}).json()[
        "requestid"]
    pinned = wait_for(lambda: (r := psa(dest, account, "GET", f"/pins/{rid}").json())
                      ["status"] in ("pinned", "failed") and r)
    assert pinned["status"] == "pinned", pinned
    assert request("GET", f"{dest.cloud_url}/ipfs/{cid}").body == data


def test_a_bad_gateway_url_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(tmp_path), "--init-only",
         "--gateway", "ftp://example.org"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "--gateway" in result.stderr


def test_data_dirs_made_before_psa_get_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE pins (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, "
        "account_id INTEGER NOT NULL, cid TEXT NOT NULL, size INTEGER NOT NULL, "
        "name TEXT NOT NULL, created_ms INTEGER NOT NULL);"
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, "
        "account_id INTEGER NOT NULL, cid TEXT NOT NULL, kind TEXT NOT NULL, "
        "status TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL, "
        "updated_ms INTEGER NOT NULL, due_ms INTEGER, deadline_ms INTEGER);"
        "INSERT INTO jobs VALUES (1, 'old', 1, 'Qm', 'file', 'pinned', 'n', 5, 5, NULL, NULL);"
    )
    conn.close()
    db = Database(path)
    try:
        columns = {r[1] for r in db.connection.execute("PRAGMA table_info(jobs)")}
        assert {"meta", "origins", "detail"} <= columns
        assert "job_uid" in {r[1] for r in db.connection.execute("PRAGMA table_info(pins)")}
        assert db.job_created_ms(1, 3) == 6  # after the old job, never equal to it
        assert db.job_created_ms(1, 9) == 9
    finally:
        db.close()
