"""``pinByHash`` of a CID whose content is inside it (identity multihash) pins at once."""

from __future__ import annotations

from collections.abc import Callable

from multiformats import CID, multihash

from bulkpin.unixfs.node import TYPE_FILE, cid_from_str, encode_node, unixfs_data
from tests.support.service import ServiceProcess, wait_for

from .helpers import Account, access_token, cid_of, get, jobs, pin_by_hash


def _identity(codec: str, block: bytes) -> str:
    return str(CID("base32", 1, codec, multihash.get("identity").wrap(block)))


def _status(svc: ServiceProcess, account: Account, cid: str) -> str:
    (job,) = jobs(svc, account, **{"pin-hash": cid})["Jobs"]
    return str(job["Status"])


def test_identity_cids_pin_without_waiting_for_the_fetch_timeout(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    # Far longer than the bound below: only content already held pins in time.
    svc = service_factory("--fetch-timeout", "3600")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    raw = _identity("raw", b"hello")
    small_file = _identity("dag-pb", encode_node(
        unixfs_data(TYPE_FILE, data=b"hi there", filesize=8), []))
    # A node with a link names content that is not inside the CID: looked for as usual.
    linked = _identity("dag-pb", encode_node(
        unixfs_data(TYPE_FILE, filesize=3), [(cid_from_str(cid_of(b"abc")), b"", 11)]))
    for cid in (linked, raw, small_file):
        reply = pin_by_hash(svc, token, {"hashToPin": cid, "secret": account.sign(cid)})
        assert reply.status == 200, reply
    wait_for(lambda: _status(svc, account, raw) == _status(svc, account, small_file) == "pinned",
             timeout=30)
    assert _status(svc, account, linked) == "pinning"
    pins = get(svc.cloud_url + "/pinning/pinList", account, limit=10).json()["Pins"]
    assert {p["PinHash"]: p["PinSize"] for p in pins} == {raw: 5, small_file: 8}
