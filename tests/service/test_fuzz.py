"""Property tests: generated garbage thrown at a live service never gets a 5xx.

Example counts are modest for CI; set BULKPIN_FUZZ_EXAMPLES to run more.
"""

from __future__ import annotations

import http.client
import os
import string
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.service import ServiceProcess

from .helpers import (
    Account,
    access_token,
    cid_of,
    get,
    multipart,
    pin_file,
    raw_exchange,
    status_of,
    upload_parts,
)

EXAMPLES = int(os.environ.get("BULKPIN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ROUTES = ["/ping", "/endpoint/list", "/oauth/accessToken", "/pinning/pinJobs",
          "/pinning/pinList", "/pinning/pinFile", "/pinning/pinByHash", "/_admin/stats", "/"]
PART_NAMES = ["file", "cid", "secret", "decooMetadata", "", "x" * 300]
header_text = st.text(string.ascii_letters + string.digits + " -_;=/.,:\"'", max_size=120)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, Account, str]]:
    data: Path = tmp_path_factory.mktemp("fuzz") / "service"
    with ServiceProcess(data, "--job-delay", "0.05", "--idle-timeout", "2").start() as svc:
        account = Account.load(svc.profile_path)
        yield svc, account, access_token(svc, account)
        stats = svc.stats()
        errors = {route: codes for route, codes in stats["requests"].items()
                  if any(code.startswith("5") for code in codes)}
        assert errors == {}
        # Still answering correctly afterwards.
        token = access_token(svc, account)
        assert pin_file(svc, token, upload_parts(b"after the storm", account)).status == 200
        assert get(svc.cloud_url + "/ping", account).json() == {"Success": True}


def _send(url: str, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


@st.composite
def auth_headers(draw: st.DrawFn, account: Account, token: str) -> dict[str, str]:
    choice = draw(st.sampled_from(["none", "key", "token", "junk"]))
    if choice == "key":
        return {"Authorization": f"Bearer {account.api_key}", "UserAccessToken": account.api_key}
    if choice == "token":
        return {"UserAccessToken": token, "Authorization": f"Bearer {token}"}
    if choice == "junk":
        junk = draw(header_text)
        return {"Authorization": "Bearer " + junk, "UserAccessToken": junk}
    return {}


@given(data=st.data())
@FUZZ
def test_random_requests(live: tuple[ServiceProcess, Account, str], data: st.DataObject) -> None:
    svc, account, token = live
    url = data.draw(st.sampled_from([svc.cloud_url, svc.endpoint_urls[0]]))
    method = data.draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    path = data.draw(st.sampled_from(ROUTES))
    query = data.draw(st.dictionaries(
        st.sampled_from(["limit", "offset", "sort", "status", "pin-hash", "start-date",
                         "end-date", "x"]), header_text, max_size=4))
    headers = data.draw(auth_headers(account, token))
    headers.update(data.draw(st.dictionaries(
        st.sampled_from(["Content-Type", "X-Thing", "Accept", "Content-Encoding"]),
        header_text, max_size=3)))
    body = data.draw(st.binary(max_size=2000))
    status = _send(url, method, path + "?" + urllib.parse.urlencode(query), headers, body)
    assert status < 500


@st.composite
def forms(draw: st.DrawFn, account: Account) -> list[tuple[str, str | None, bytes]]:
    data = draw(st.binary(max_size=5000))
    parts = upload_parts(data, account) if draw(st.booleans()) else []
    extra = draw(st.lists(st.tuples(
        st.sampled_from(PART_NAMES),
        st.none() | st.text(max_size=300).map(lambda s: s.replace('"', "").replace("\r", "")),
        st.binary(max_size=300) | st.just(cid_of(data).encode())), max_size=4))
    merged = parts + extra
    return draw(st.permutations(merged)) if merged else merged


@given(data=st.data())
@FUZZ
def test_random_forms(live: tuple[ServiceProcess, Account, str], data: st.DataObject) -> None:
    svc, account, token = live
    parts = data.draw(forms(account))
    parts = [(n, f.replace("\n", " ") if f is not None else None, v) for n, f, v in parts]
    body, ctype = multipart(parts)
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(body)))
        body = body[:cut] + data.draw(st.binary(max_size=50))
    headers = {"UserAccessToken": token, "Content-Type": ctype}
    status = _send(svc.endpoint_urls[0], "POST", "/pinning/pinFile", headers, body)
    assert status < 500


@given(data=st.binary(min_size=1, max_size=3000), prefix=st.sampled_from(
    [b"", b"GET / HTTP/1.1\r\n", b"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\n",
     b"POST /pinning/pinByHash HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"]))
@FUZZ
def test_raw_bytes(live: tuple[ServiceProcess, Account, str], data: bytes, prefix: bytes) -> None:
    svc, _, _ = live
    raw = raw_exchange(svc.endpoint_urls[0], prefix + data, close_write=True, timeout=30)
    status = status_of(raw)
    assert status < 500
