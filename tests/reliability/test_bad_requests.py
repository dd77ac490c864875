"""Bad input, requests to the service (issue 7, item 5): malformed requests, each a test.

Each gets the status the contract names, a JSON error body whose ``Code`` is
that status and whose ``Message`` says what is wrong, and changes nothing: no
pin, no job, no blob. (The service's own tests go through every route and
error; these are the cases a broken or hostile client sends most.)
"""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from tests.service.helpers import (
    Account,
    Part,
    access_token,
    blob_files,
    cid_of,
    get,
    multipart,
    pin_by_hash,
    pin_file,
    request,
    status_of,
    upload_parts,
)
from tests.support.service import ServiceProcess, wait_for

DATA = b"the bytes of a well-formed upload"


@pytest.fixture
def who(shared: ServiceProcess) -> tuple[ServiceProcess, Account, str]:
    account = Account.load(shared.profile_path)
    return shared, account, access_token(shared, account)


Who = tuple[ServiceProcess, Account, str]


def _state(svc: ServiceProcess) -> tuple[Any, Any, int]:
    stats = svc.stats()
    return stats["pins"], stats["jobs"], len(blob_files(svc))


def _error(status: int, body: bytes) -> str:
    payload = json.loads(body)
    assert payload["Code"] == status
    message = str(payload["Message"])
    assert message.strip()
    return message


def _without(name: str) -> Callable[[list[Part]], list[Part]]:
    return lambda parts: [p for p in parts if p[0] != name]


def _replace(name: str, value: bytes) -> Callable[[list[Part]], list[Part]]:
    return lambda parts: [(n, f, value if n == name else v) for n, f, v in parts]


@pytest.mark.parametrize(
    ("case", "mangle", "status", "words"),
    [
        ("no cid part", _without("cid"), 400, "cid"),
        ("no file part", _without("file"), 400, "file"),
        ("no secret part", _without("secret"), 400, "secret"),
        ("a cid that is not a CID", _replace("cid", b"not-a-cid"), 400, "cid"),
        ("a secret of another CID", _replace("secret", b"AAAA"), 403, "secret"),
        ("bytes that do not hash to the cid", _replace("file", b"other bytes"), 422, "cid"),
    ],
)
def test_malformed_pin_file_is_refused_and_stores_nothing(
    who: Who, case: str, mangle: Callable[[list[Part]], list[Part]], status: int, words: str
) -> None:
    svc, account, token = who
    before = _state(svc)
    reply = pin_file(svc, token, mangle(upload_parts(DATA, account)))
    assert reply.status == status
    assert words in _error(status, reply.body).lower()
    assert _state(svc) == before


def test_pin_file_body_cut_short_stores_nothing(who: Who) -> None:
    svc, account, token = who
    before = _state(svc)
    body, ctype = multipart(upload_parts(DATA * 1000, account))
    parts = urllib.parse.urlsplit(svc.endpoint_urls[0])
    head = (f"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nUserAccessToken: {token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    refused = svc.stats()["requests"].get("pinFile", {}).get("400", 0)
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=30) as sock:
        sock.sendall(head + body[: len(body) // 2])
    # Nobody is left to read the answer: the service's count says what it was.
    wait_for(lambda: svc.stats()["requests"]["pinFile"].get("400", 0) == refused + 1)
    assert _state(svc) == before


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("not JSON", b"{hashToPin:"),
        ("not an object", b"[1, 2, 3]"),
        ("no hashToPin", b'{"secret": "x"}'),
        ("a hashToPin that is not a CID", b'{"hashToPin": "nope", "secret": "x"}'),
    ],
)
def test_malformed_pin_by_hash_is_400(who: Who, case: str, body: bytes) -> None:
    svc, _, token = who
    before = _state(svc)
    reply = pin_by_hash(svc, token, body)
    assert reply.status == 400
    _error(400, reply.body)
    assert _state(svc) == before


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("pinJobs", {"limit": "5000"}),
        ("pinJobs", {"offset": "-1"}),
        ("pinJobs", {"status": "bogus"}),
        ("pinJobs", {"sort": "sideways"}),
        ("pinList", {"start-date": "yesterday"}),
        ("pinList", {"limit": "ten"}),
    ],
)
def test_bad_listing_parameters_are_400(
    who: Who, route: str, query: dict[str, str]
) -> None:
    svc, account, _ = who
    reply = get(f"{svc.cloud_url}/pinning/{route}", account, **query)
    assert reply.status == 400
    message = _error(400, reply.body)
    assert next(iter(query)) in message


@pytest.mark.parametrize(
    ("case", "method", "path", "headers", "status"),
    [
        ("no API key", "GET", "/pinning/pinJobs", {}, 401),
        ("an access token where the API key goes", "GET", "/pinning/pinJobs", {"token": ""}, 401),
        ("an unknown route", "GET", "/pinning/everything", {"key": ""}, 404),
        ("a wrong method", "DELETE", "/pinning/pinList", {"key": ""}, 405),
    ],
)
def test_unauthenticated_or_unknown_requests_answer_json(
    who: Who, case: str, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    svc, account, token = who
    sent = {}
    if "key" in headers:
        sent = account.cloud_headers()
    if "token" in headers:
        sent = {"Authorization": f"Bearer {token}"}
    reply = request(method, svc.cloud_url + path, headers=sent)
    assert reply.status == status
    _error(status, reply.body)


def test_a_request_that_is_not_http_gets_a_400(who: Who) -> None:
    svc, _, _ = who
    parts = urllib.parse.urlsplit(svc.endpoint_urls[0])
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=30) as sock:
        sock.sendall(b"HELLO\x00\xff THERE\r\n\r\n")
        raw = sock.recv(65536)
    assert status_of(raw) == 400
    assert cid_of(DATA)  # the service is still there for the next one:
    assert get(svc.cloud_url + "/ping", Account.load(svc.profile_path)).status == 200
