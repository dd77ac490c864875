"""Service robustness (issue 7, item 6): generated malformed requests, no 5xx, no crash.

One hypothesis test throws a mix at a live ``bulkpin serve``: random methods,
routes, query strings, headers and bodies; pinFile forms with parts missing,
repeated, reordered, truncated or of the wrong kind; pinByHash bodies of any
JSON shape; raw bytes that are barely HTTP or not at all. Every answer must be
under 500, and afterwards the process must still be running, its stats must
show no 5xx on any route, and it must still pin a real upload correctly.

CI runs 300 requests; ``BULKPIN_SOAK=1`` runs the 10,000 of issue 7
(``BULKPIN_FUZZ_EXAMPLES=N`` sets any other count). Derandomized: a failure
replays.
"""

from __future__ import annotations

import http.client
import json
import os
import string
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.service.helpers import (
    Account,
    access_token,
    cid_of,
    get,
    multipart,
    raw_exchange,
    status_of,
    upload_parts,
)
from tests.support.service import ServiceProcess

from .helpers import SOAK, figure, file_rows, make_tree, run

EXAMPLES = int(os.environ.get("BULKPIN_FUZZ_EXAMPLES", "10000" if SOAK else "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ROUTES = ["/ping", "/endpoint/list", "/oauth/accessToken", "/pinning/pinJobs",
          "/pinning/pinList", "/pinning/pinFile", "/pinning/pinByHash", "/pinning/pinFromS3",
          "/psa/pins", "/_admin/stats", "/", "/pinning/", "/%00", "/" + "x" * 3000]
PARAMS = ["limit", "offset", "sort", "status", "pin-hash", "start-date", "end-date", "x"]
PARTS = ["file", "cid", "secret", "decooMetadata", "", "FILE", "x" * 300]
text = st.text(string.printable.replace("\r", "").replace("\n", ""), max_size=80)
odd_text = st.text(max_size=60).map(lambda s: s.replace("\r", " ").replace("\n", " "))
numbers = st.sampled_from(["-1", "0", "1", "1000", "1001", "99999999999999999999", "1e3",
                           "NaN", " 5", "0x10", ""])

SEEN: Counter[int] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, Account, str]]:
    data: Path = tmp_path_factory.mktemp("fuzz") / "service"
    with ServiceProcess(data, "--job-delay", "0.05", "--idle-timeout", "2").start() as svc:
        account = Account.load(svc.profile_path)
        yield svc, account, access_token(svc, account)


def _send(url: str, method: str, target: str, headers: dict[str, str], body: bytes) -> int:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if "Content-Length" not in headers:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        return conn.getresponse().status
    finally:
        conn.close()


@st.composite
def auth(draw: st.DrawFn, account: Account, token: str) -> dict[str, str]:
    kind = draw(st.sampled_from(["none", "key", "token", "both", "junk", "swapped"]))
    junk = draw(text)
    return {
        "none": {},
        "key": {"Authorization": f"Bearer {account.api_key}"},
        "token": {"UserAccessToken": token},
        "both": {"Authorization": f"Bearer {account.api_key}", "UserAccessToken": token},
        "junk": {"Authorization": junk, "UserAccessToken": junk},
        "swapped": {"Authorization": f"Bearer {token}", "UserAccessToken": account.api_key},
    }[kind]


@st.composite
def plain_request(draw: st.DrawFn, svc: ServiceProcess, account: Account,
                  token: str) -> tuple[str, str, str, dict[str, str], bytes]:
    url = draw(st.sampled_from([svc.cloud_url, *svc.endpoint_urls]))
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                                   "BREW"]))
    query = draw(st.lists(st.tuples(st.sampled_from(PARAMS), numbers | text), max_size=5))
    target = draw(st.sampled_from(ROUTES)) + ("?" + urllib.parse.urlencode(query) if query
                                              else "")
    headers = {"Host": "x", **draw(auth(account, token))}
    headers.update(draw(st.dictionaries(
        st.sampled_from(["Content-Type", "Accept", "Content-Encoding", "X-Forwarded-For",
                         "Transfer-Encoding", "Expect", "Cookie"]),
        text, max_size=3)))
    headers.pop("Transfer-Encoding", None)  # framing is the raw strategy's business
    body = draw(st.binary(max_size=2000))
    return url, method, target, headers, body


@st.composite
def form(draw: st.DrawFn, account: Account, token: str) -> tuple[dict[str, str], bytes]:
    data = draw(st.binary(max_size=4000))
    parts = upload_parts(data, account, cid_first=draw(st.booleans())) \
        if draw(st.booleans()) else []
    extra = draw(st.lists(st.tuples(
        st.sampled_from(PARTS),
        st.none() | odd_text.map(lambda s: s.replace('"', "")),
        st.binary(max_size=200) | st.just(cid_of(data).encode()) | text.map(str.encode)),
        max_size=4))
    merged = draw(st.permutations(parts + extra)) if parts or extra else []
    body, ctype = multipart(merged)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.binary(max_size=40))
    ctype = draw(st.sampled_from([ctype, ctype.split(";")[0], "multipart/form-data; boundary=",
                                  "text/plain", ctype + "; charset=utf-7"]))
    return {"Host": "x", "UserAccessToken": token, "Content-Type": ctype}, body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def pin_by_hash_body(draw: st.DrawFn, account: Account) -> bytes:
    cid = cid_of(draw(st.binary(max_size=50)))
    body = draw(st.fixed_dictionaries(
        {}, optional={"hashToPin": st.just(cid) | json_values,
                      "secret": st.just(account.sign(cid)) | json_values,
                      "decooMetadata": json_values}))
    raw = json.dumps(body).encode()
    return draw(st.sampled_from([raw, raw[: len(raw) // 2], b"", b"\xff\xfe" + raw]))


RAW_PREFIXES = [
    b"", b"GET / HTTP/1.1\r\n", b"GET /ping HTTP/1.1\r\nHost: x\r\n",
    b"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
    b"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /pinning/pinByHash HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /pinning/pinJobs HTTP/9.9\r\n\r\n", b"GET " + b"/a" * 5000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"y" * 20000 + b"\r\n\r\n",
]


@given(data=st.data())
@FUZZ
def test_generated_malformed_requests_never_get_a_5xx(
    live: tuple[ServiceProcess, Account, str], data: st.DataObject
) -> None:
    svc, account, token = live
    kind = data.draw(st.sampled_from(["plain", "form", "pinByHash", "raw"]))
    if kind == "plain":
        status = _send(*data.draw(plain_request(svc, account, token)))
    elif kind == "form":
        headers, body = data.draw(form(account, token))
        status = _send(svc.endpoint_urls[0], "POST", "/pinning/pinFile", headers, body)
    elif kind == "pinByHash":
        body = data.draw(pin_by_hash_body(account))
        headers = {"Host": "x", "UserAccessToken": token, "Content-Type": "application/json"}
        status = _send(svc.endpoint_urls[0], "POST", "/pinning/pinByHash", headers, body)
    else:
        raw = data.draw(st.sampled_from(RAW_PREFIXES)) + data.draw(st.binary(max_size=3000))
        url = data.draw(st.sampled_from([svc.cloud_url, svc.endpoint_urls[0]]))
        status = status_of(raw_exchange(url, raw, close_write=True, timeout=30))
    SEEN[status] += 1
    assert status < 500


def test_the_service_survived_and_still_serves_correctly(
    live: tuple[ServiceProcess, Account, str], tmp_path: Path
) -> None:
    svc, account, _ = live
    assert svc.process is not None
    assert svc.process.poll() is None  # no crash
    stats = svc.stats()
    fives = {route: codes for route, codes in stats["requests"].items()
             if any(code.startswith("5") for code in codes)}
    assert fives == {}
    total = sum(SEEN.values())
    figure(f"service fuzz: {total} generated requests, answers {dict(sorted(SEEN.items()))}"
           f" (0 = connection closed without an answer), 5xx: 0, service alive")
    assert total >= EXAMPLES
    # Still serving correctly: a real push, every file pinned under its own CID.
    assert get(svc.cloud_url + "/ping", account).json() == {"Success": True}
    tree = make_tree(tmp_path / "after", files=8, largest=400_000, name="after-fuzz")
    out = tmp_path / "m.jsonl"
    proc = run("--profile", svc.profile_path, tree.root, "--journal", tmp_path / "j",
               "--manifest", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = file_rows(out)
    assert {p: r["cid"] for p, r in rows.items()} == tree.cids
