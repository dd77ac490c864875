"""Endpoint routes over real HTTP: pinFile in every shape, pinByHash, and their errors."""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Callable

import pytest

from bulkpin.service.upload import STAGE, STAGES
from tests.support.service import ServiceProcess, wait_for
from tests.unixfs.content import content

from .helpers import (
    Account,
    Part,
    access_token,
    blob_files,
    cid_of,
    get,
    jobs,
    multipart,
    pin_by_hash,
    pin_file,
    request,
    status_of,
    upload_parts,
)


@pytest.fixture
def who(service: ServiceProcess) -> tuple[ServiceProcess, Account, str]:
    account = Account.load(service.profile_path)
    return service, account, access_token(service, account)


Who = tuple[ServiceProcess, Account, str]


def _pins(svc: ServiceProcess, account: Account) -> list[dict[str, object]]:
    pins = get(svc.cloud_url + "/pinning/pinList", account, limit=1000).json()["Pins"]
    assert isinstance(pins, list)
    return pins


@pytest.mark.parametrize("cid_first", [False, True])
@pytest.mark.parametrize("chunked", [False, True])
def test_pin_file_stores_verifies_and_queues(who: Who, cid_first: bool, chunked: bool) -> None:
    svc, account, token = who
    data = bytes(range(256)) * 4000 + b"tail"  # several 256 KiB chunks and a partial one
    reply = pin_file(svc, token, upload_parts(data, account, cid_first=cid_first), chunked=chunked)
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["PinHash"] == cid_of(data)
    assert answer["PinSize"] == len(data)
    assert answer["PinDate"].endswith("Z")
    blob = svc.data_dir / "blobs" / answer["PinHash"][-2:] / answer["PinHash"]
    assert blob.read_bytes() == data
    done = wait_for(lambda: jobs(svc, account, **{"pin-hash": answer["PinHash"]}))
    assert done["Count"] == 1
    wait_for(lambda: jobs(svc, account, status="pinned")["Count"] == 1)


def test_empty_and_large_uploads(who: Who) -> None:
    svc, account, token = who
    # Empty; the largest held in memory; the smallest streamed to disk (with an
    # empty tail); more than one stage.
    for size in (0, STAGE - 1, STAGE, 5 * 1024 * 1024 + 17):
        data = content(f"size {size}", size)
        reply = pin_file(svc, token, upload_parts(data, account))
        assert reply.status == 200, reply.body
        cid = cid_of(data)
        assert reply.json()["PinHash"] == cid
        assert (svc.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data


@pytest.mark.parametrize("profile", [None, "unixfs-v1-2025"])
@pytest.mark.parametrize("extra", [0, 1, 262_145])
def test_uploads_longer_than_the_stage_ring(who: Who, profile: str | None, extra: int) -> None:
    # Stages are hashed on several threads and their leaves joined in order:
    # sizes that wrap the ring, end on a stage boundary or just past one, for
    # both profiles (256 KiB and 1 MiB chunks) must still give the file's CID.
    svc, account, token = who
    data = content("ring", 2 * STAGE * STAGES + extra)
    cid = cid_of(data, profile)
    meta = json.dumps({"cidProfile": profile}) if profile else None
    reply = pin_file(svc, token, upload_parts(data, account, cid=cid, metadata=meta))
    assert reply.status == 200, reply.body
    assert reply.json() == {**reply.json(), "PinHash": cid, "PinSize": len(data)}
    blob = svc.data_dir / "blobs" / cid[-2:] / cid
    assert blob.read_bytes() == data


@pytest.mark.parametrize("size", [5000, 3 * STAGE + 5])  # held in memory; streamed to disk
def test_the_same_bytes_again_keep_the_stored_blob(who: Who, size: int) -> None:
    svc, account, token = who
    data = content(f"again {size}", size)
    first = pin_file(svc, token, upload_parts(data, account, filename="a.bin"))
    assert first.status == 200, first.body
    cid = first.json()["PinHash"]
    blob = svc.data_dir / "blobs" / cid[-2:] / cid
    inode = blob.stat().st_ino
    second = pin_file(svc, token, upload_parts(data, account, filename="b.bin"))
    assert second.status == 200, second.body
    assert second.json()["PinHash"] == cid
    # Kept, not replaced; the second copy is gone before the answer.
    assert blob.stat().st_ino == inode
    assert blob_files(svc) == [blob]
    assert blob.read_bytes() == data


def test_v1_cid_named_in_metadata_after_the_file(who: Who) -> None:
    svc, account, token = who
    data = b"modern" * 300_000  # more than one 1 MiB chunk
    cid = cid_of(data, "unixfs-v1-2025")
    assert cid.startswith("bafy")
    meta = json.dumps({"name": "modern.bin", "cidProfile": "unixfs-v1-2025"})
    reply = pin_file(svc, token, upload_parts(data, account, cid=cid, metadata=meta))
    assert reply.status == 200, reply.body
    assert reply.json()["PinHash"] == cid
    assert _pins(svc, account)[0]["Metadata"] == {"name": "modern.bin"}
    # The same bytes claimed under the v0 profile's CID do not match this v1 claim.
    wrong = cid_of(data)
    reply = pin_file(svc, token, upload_parts(data, account, cid=wrong, metadata=meta))
    assert reply.status == 422


def test_mismatched_cid_is_422_and_stores_nothing(who: Who) -> None:
    svc, account, token = who
    claimed = cid_of(b"something else")
    reply = pin_file(svc, token, upload_parts(b"these bytes", account, cid=claimed))
    assert reply.status == 422
    assert reply.json()["Code"] == 422
    assert blob_files(svc) == []
    assert svc.stats()["pins"] == 0


@pytest.mark.parametrize(
    ("secret", "status"),
    [("AAAA", 403), ("not base64 at all!", 403), ("", 403), ("A" * 5000, 403)],
)
def test_bad_secrets_are_403(who: Who, secret: str, status: int) -> None:
    svc, account, token = who
    reply = pin_file(svc, token, upload_parts(b"data", account, secret=secret))
    assert reply.status == status
    assert blob_files(svc) == []


def _form(parts: list[Part]) -> list[Part]:
    return parts


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: [x for x in p if x[0] != "file"],
        lambda p: [x for x in p if x[0] != "cid"],
        lambda p: [x for x in p if x[0] != "secret"],
        lambda p: [*p, p[0]],
        lambda p: [*p, p[1]],
        lambda p: [*p, ("extra", None, b"?")],
        lambda p: [(p[0][0], p[0][1], p[0][2]), ("cid", None, b"not a cid"), p[2]],
        lambda p: [p[0], p[1], p[2], ("decooMetadata", None, b"{not json")],
        lambda p: [p[0], p[1], p[2], ("decooMetadata", None, b"[1, 2]")],
        lambda p: [p[0], p[1], p[2], ("decooMetadata", None, b'{"name": 5}')],
        lambda p: [p[0], p[1], p[2], ("decooMetadata", None, b'{"cidProfile": "nope"}')],
        lambda p: [*p[:3], ("decooMetadata", None, b'{"name": "' + b"m" * 70_000 + b'"}')],
        lambda p: [p[0], p[1], p[2], ("decooMetadata", None, b"[" * 50_000)],
        lambda p: [p[0], ("cid", None, b"\xff\xfe"), p[2]],
    ],
)
def test_malformed_forms_are_400(who: Who, mangle: Callable[[list[Part]], list[Part]]) -> None:
    svc, account, token = who
    parts = mangle(upload_parts(b"form data", account))
    reply = pin_file(svc, token, parts)
    assert reply.status == 400, reply.body
    assert reply.json()["Code"] == 400
    assert blob_files(svc) == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "multipart/form-data", "multipart/mixed; boundary=x",
     "multipart/form-data; boundary=" + "b" * 71, ""],
)
def test_wrong_content_types_are_400(who: Who, content_type: str) -> None:
    svc, _, token = who
    reply = request("POST", svc.endpoint_urls[0] + "/pinning/pinFile",
                    headers={"UserAccessToken": token, "Content-Type": content_type},
                    body=b"--x\r\n\r\n")
    assert reply.status == 400


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd", "a\x00b", "n" * 10_000, "/abs/path", "ünïcödé ☃.txt"],
)
def test_filenames_are_metadata_only(who: Who, filename: str) -> None:
    svc, account, token = who
    data = f"named {filename[:20]!r}".encode()
    reply = pin_file(svc, token, upload_parts(data, account, filename=filename))
    assert reply.status == 200, reply.body
    name = _pins(svc, account)[0]["Metadata"]
    assert isinstance(name, dict)
    # aiohttp's Content-Disposition parser drops a leading slash; the rest is kept.
    assert name["name"] == filename.replace("\x00", "\ufffd").lstrip("/")
    for path in svc.data_dir.rglob("*"):
        assert path.resolve().is_relative_to(svc.data_dir.resolve())
    assert [p.name for p in blob_files(svc)] == [cid_of(data)]


def test_truncated_body_stores_nothing(who: Who) -> None:
    svc, account, token = who
    body, ctype = multipart(upload_parts(b"z" * 300_000, account))
    url = urllib.parse.urlsplit(svc.endpoint_urls[0])
    assert url.hostname
    assert url.port
    head = (f"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nUserAccessToken: {token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 2])
    wait_for(lambda: svc.stats()["requests"].get("pinFile"))
    assert svc.stats()["requests"]["pinFile"] == {"400": 1}
    assert blob_files(svc) == []
    assert svc.stats()["pins"] == 0


def test_lying_content_length_is_400(who: Who) -> None:
    svc, account, token = who
    body, ctype = multipart(upload_parts(b"y" * 50_000, account))
    url = urllib.parse.urlsplit(svc.endpoint_urls[0])
    assert url.hostname
    assert url.port
    head = (f"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nUserAccessToken: {token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body) - 1000}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + body)
        raw = sock.recv(65536)
    assert status_of(raw) == 400
    assert blob_files(svc) == []


def test_stalled_body_is_408(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--idle-timeout", "0.5")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    body, ctype = multipart(upload_parts(b"s" * 10_000, account))
    url = urllib.parse.urlsplit(svc.endpoint_urls[0])
    assert url.hostname
    assert url.port
    head = (f"POST /pinning/pinFile HTTP/1.1\r\nHost: x\r\nUserAccessToken: {token}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + body[:5000])
        raw = sock.recv(65536)
    assert status_of(raw) == 408
    assert blob_files(svc) == []


def test_max_upload_size_is_413(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--max-upload-size", "100000")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    assert pin_file(svc, token, upload_parts(b"a" * 100_000, account)).status == 200
    reply = pin_file(svc, token, upload_parts(b"b" * 100_001, account))
    assert reply.status == 413
    assert reply.json()["Code"] == 413
    reply = pin_file(svc, token, upload_parts(b"c" * 2_000_000, account))  # refused by length
    assert reply.status == 413
    assert len(blob_files(svc)) == 1


def test_pin_by_hash_pins_content_already_held(who: Who) -> None:
    svc, account, token = who
    data = b"held content"
    assert pin_file(svc, token, upload_parts(data, account)).status == 200
    cid = cid_of(data)
    reply = pin_by_hash(svc, token, {"hashToPin": cid, "secret": account.sign(cid),
                                     "decooMetadata": {"name": "again"}})
    assert reply.status == 200
    answer = reply.json()
    assert answer["HashToPin"] == cid
    assert answer["JobStatus"] == "queued"
    assert isinstance(answer["JobId"], str)
    wait_for(lambda: jobs(svc, account, status="pinned")["Count"] == 2)
    assert "again" in [p["Metadata"]["name"] for p in _pins(svc, account)]  # type: ignore[index]
    assert svc.stats()["duplicate_jobs"] == 1


def test_pin_by_hash_fails_without_content_then_pins_when_it_arrives(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--fetch-timeout", "0.3")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    data = b"arrives later"
    cid = cid_of(data)
    reply = pin_by_hash(svc, token, {"hashToPin": cid, "secret": account.sign(cid)})
    job_id = reply.json()["JobId"]
    wait_for(lambda: jobs(svc, account, status="failed")["Count"] == 1)
    assert jobs(svc, account, status="failed")["Jobs"][0]["Id"] == job_id
    assert pin_file(svc, token, upload_parts(data, account)).status == 200
    # Decoo retries failed jobs: the same job goes pinned once the content is there.
    pinned = wait_for(lambda: jobs(svc, account, status="pinned", limit=10)["Count"] == 2)
    assert pinned
    ids = [j["Id"] for j in jobs(svc, account, status="pinned", limit=10)["Jobs"]]
    assert job_id in ids


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b"{}", b'{"hashToPin": 5, "secret": "x"}',
     b'{"hashToPin": "QmNotACid", "secret": "x"}', b'{"hashToPin": "%s"}',
     b'{"hashToPin": "%s", "secret": "x", "decooMetadata": "name"}', b"[" * 100_000],
)
def test_pin_by_hash_rejects_bad_bodies(who: Who, body: bytes) -> None:
    svc, _, token = who
    body = body.replace(b"%s", cid_of(b"x").encode())
    reply = pin_by_hash(svc, token, body)
    assert reply.status == 400, reply.body


def test_pin_by_hash_checks_the_secret_and_size(who: Who) -> None:
    svc, account, token = who
    cid = cid_of(b"x")
    assert pin_by_hash(svc, token, {"hashToPin": cid, "secret": account.sign(cid_of(b"y"))}
                       ).status == 403
    huge = {"hashToPin": cid, "secret": account.sign(cid),
            "decooMetadata": {"name": "n" * 2_000_000}}
    assert pin_by_hash(svc, token, huge).status == 413
