"""Plain HTTP helpers for the service's tests: stdlib clients over loopback, no mocks."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkpin.testing import Account, access_token
from bulkpin.unixfs import FileBuilder, get_profile
from tests.support.service import ServiceProcess

__all__ = [
    "Account",
    "Part",
    "Reply",
    "access_token",
    "blob_files",
    "cid_of",
    "get",
    "jobs",
    "multipart",
    "pin_by_hash",
    "pin_file",
    "raw_exchange",
    "request",
    "status_of",
    "upload_parts",
]

Part = tuple[str, str | None, bytes]


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str, url: str, *, headers: dict[str, str] | None = None,
    body: bytes | Iterable[bytes] | None = None, chunked: bool = False, timeout: float = 30,
) -> Reply:
    """One request on a new connection."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path or "/", body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def get(url: str, account: Account | None = None, **query: Any) -> Reply:
    """GET on the Cloud with the account's API key."""
    if query:
        url += "?" + urllib.parse.urlencode(query)
    return request("GET", url, headers=account.cloud_headers() if account else {})


def cid_of(data: bytes, profile: str | None = None) -> str:
    builder = FileBuilder(get_profile(profile))
    builder.update(data)
    return builder.finish().cid


def multipart(parts: Sequence[Part], boundary: str | None = None) -> tuple[bytes, str]:
    """A form-data body and its Content-Type."""
    boundary = boundary or uuid.uuid4().hex
    out = bytearray()
    for name, filename, value in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def upload_parts(
    data: bytes, account: Account, *, cid: str | None = None, secret: str | None = None,
    filename: str = "file.bin", metadata: str | None = None, cid_first: bool = False,
) -> list[Part]:
    cid = cid or cid_of(data)
    fields: list[Part] = []
    if metadata is not None:
        fields.append(("decooMetadata", None, metadata.encode()))
    signature = account.sign(cid) if secret is None else secret
    fields += [("cid", None, cid.encode()), ("secret", None, signature.encode())]
    file_part: Part = ("file", filename, data)
    return [*fields, file_part] if cid_first else [file_part, *fields]


def pin_file(
    svc: ServiceProcess, token: str, parts: Sequence[Part], *, chunked: bool = False,
    endpoint: int = 0,
) -> Reply:
    body, ctype = multipart(parts)
    headers = {"UserAccessToken": token, "Content-Type": ctype}
    payload: bytes | Iterable[bytes] = body
    if chunked:
        payload = iter([body[i : i + 7001] for i in range(0, len(body), 7001)])
    return request("POST", svc.endpoint_urls[endpoint] + "/pinning/pinFile",
                   headers=headers, body=payload, chunked=chunked)


def pin_by_hash(svc: ServiceProcess, token: str, body: Any) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request("POST", svc.endpoint_urls[0] + "/pinning/pinByHash",
                   headers={"UserAccessToken": token, "Content-Type": "application/json"},
                   body=raw)


def jobs(svc: ServiceProcess, account: Account, **query: Any) -> Any:
    reply = get(svc.cloud_url + "/pinning/pinJobs", account, **query)
    assert reply.status == 200, reply
    return reply.json()


def raw_exchange(url: str, data: bytes, *, close_write: bool = False, timeout: float = 10) -> bytes:
    """Send raw bytes to the host:port of ``url`` and read until the server closes."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname
    assert parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def status_of(raw: bytes) -> int:
    """The status code of a raw HTTP/1.1 answer (0 if there is none)."""
    if not raw.startswith(b"HTTP/1."):
        return 0
    return int(raw.split(b" ", 2)[1])


def blob_files(svc: ServiceProcess) -> list[Path]:
    """Every file in the blob store, temporary ones included."""
    return sorted(p for p in (svc.data_dir / "blobs").rglob("*") if p.is_file())
