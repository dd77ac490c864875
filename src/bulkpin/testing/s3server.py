"""A real S3-compatible server on loopback (moto in server mode), and a bucket of test objects.

moto runs as a subprocess, not a thread: the tests that read
``/proc/self/io`` must see only the client's own disk writes, and moto
spools large objects to temporary files.

Tests never see the real ``~/.aws``: :func:`isolate_aws` points ``HOME`` and
the XDG directories at the test's own temporary directory and sets the
credentials by environment variable (moto accepts any).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Self

from .._startstop import StartStop
from .proxy import Response, Rewrite

if TYPE_CHECKING:
    import pytest
    from types_aiobotocore_s3 import S3Client

#: The credentials every test uses unless it is about credentials.
ACCESS_KEY = "AKIABULKPINTESTENV"
SECRET_KEY = "bulkpin-test-secret"  # noqa: S105 - a fixed test credential for moto

#: Chunk edges of the default CID profile (256 KiB chunks).
CHUNK = 262144
MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoServer(StartStop):
    """``python -m moto.server`` on a free loopback port, its output in ``log``."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's endpoint URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start the server; returns once it answers (tries another port if one was taken)."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = str(self.home)
        for attempt in range(3):
            self.port = _free_port()
            log = (self.home / f"moto-{attempt}.log").open("wb")
            self._process = subprocess.Popen(  # noqa: S603 - our interpreter, moto's module
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.home,
            )
            log.close()
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"moto did not start; see {self.home}/moto-*.log")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own http:// loopback URL
                        f"{self.url}/moto-api/", timeout=2):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop the server (by its own process id)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def isolate_aws(monkeypatch: pytest.MonkeyPatch, home: Path, *, credentials: bool = True) -> None:
    """A private HOME and XDG dirs, no ``AWS_*`` of the caller's, and test credentials."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    # No instance-metadata probes: they would wait on a link-local address.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    if credentials:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)


def slow_down(request_prefix: str, times: int, counts: dict[str, int]) -> Rewrite:
    """A :class:`~.proxy.ChaosProxy` rewrite hook in front of S3: the first ``times``
    answers to each request starting ``request_prefix`` (``"GET /bucket/"``) become
    503 SlowDown, as S3 says it under load; ``counts`` counts them by request line.
    """

    def rewrite(request_line: str, response: Response) -> Response:
        if not request_line.startswith(request_prefix):
            return response
        counts[request_line] = counts.get(request_line, 0) + 1
        if counts[request_line] > times:
            return response
        body = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                b"<Message>Please reduce your request rate.</Message></Error>")
        return Response(503, "Slow Down", [("Content-Type", "application/xml")], body)

    return rewrite


def pattern(seed: str, size: int) -> bytes:
    """``size`` deterministic, non-repeating bytes (so a misplaced chunk changes the CID)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


def generated_objects() -> dict[str, bytes]:
    """The bucket's objects by key: sizes at the edges, duplicates, awkward keys, a marker.

    About 12 MiB in all, so a CI run stays quick.
    """
    dup = pattern("dup", 100_000)
    return {
        "empty.bin": b"",
        "one.bin": b"\x01",
        "edges/262143.bin": pattern("a", CHUNK - 1),
        "edges/262144.bin": pattern("b", CHUNK),
        "edges/262145.bin": pattern("c", CHUNK + 1),
        "mib/three.bin": pattern("d", 3 * MIB),
        "mib/five-and-a-bit.bin": pattern("e", 5 * MIB + 17),
        "dup/first.bin": dup,
        "dup/second.bin": dup,
        "ünïcödé/naïve ✓.txt": b"unicode key\n",
        "odd/100%.txt": b"percent\n",
        "odd/a+b=c.txt": b"plus\n",
        "odd/with space.txt": b"space\n",
        "deep/a/b/c/d.txt": b"deep\n" * 1000,
        "logs/run.tmp": b"tmp\n",
        "dir/": b"",  # a "directory marker", as consoles create
        "dir/inside.txt": b"inside the marked dir\n",
    }


#: The directory-marker keys of :func:`generated_objects`.
MARKERS = frozenset({"dir/"})


async def fill_bucket(client: S3Client, bucket: str, objects: dict[str, bytes]) -> None:
    """Create ``bucket`` and put ``objects`` into it."""
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        await client.create_bucket(Bucket=bucket)
    for key, data in objects.items():
        await client.put_object(Bucket=bucket, Key=key, Body=data)
