"""Secrets and safety by default (issue 7, item 7), for ``bulkpin push`` as users run it.

- TLS is verified by default: a service whose certificate comes from an unknown
  authority is refused before any request reaches it, and the run stops at once
  with a clear message (exit 2); trusting that authority makes the same run work.
  (The client-level checks are in tests/client/test_client_tls.py.)
- Special files are never opened: a FIFO in the tree is watched while the run
  goes, and nobody ever opens it for reading; a device node (/dev/zero's) is
  skipped, not read for ever.
- The DEBUG log of the chaos run holds no secret: see test_chaos.py.
"""

from __future__ import annotations

import errno
import os
import ssl
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from bulkpin.testing.proxy import ChaosProxy
from tests.support.service import ServiceProcess

from .helpers import (
    account,
    assert_complete,
    file_rows,
    flat,
    make_tree,
    new_accounts,
    push_env,
    run,
    write_profile,
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https(shared: ServiceProcess, ca: trustme.CA, tmp_path: Path) -> Iterator[Path]:
    """A profile reaching the shared service's Cloud and Endpoint over HTTPS only, with
    certificates from a throwaway authority no trust store knows."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    (real,) = new_accounts(shared, f"tls-{tmp_path.name}")
    with ChaosProxy(shared.cloud_url, tls=context) as cloud, \
            ChaosProxy(shared.endpoint_urls[0], tls=context) as endpoint:
        fields = {**account(shared, real), "cloud_url": cloud.url, "endpoint": endpoint.url}
        yield write_profile(tmp_path / "https.toml", fields)


def _requests(service: ServiceProcess) -> int:
    """API requests the service saw (not counting these reads of its stats)."""
    return sum(sum(s.values()) for route, s in service.stats()["requests"].items()
               if route != "adminStats")


def test_certificate_from_an_unknown_authority_is_refused_and_stops_the_run(
    shared: ServiceProcess, https: Path, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "t", files=5, largest=10_000, name="tls-refused")
    before = _requests(shared)
    journal = tmp_path / "j.sqlite"
    proc = run("--profile", https, tree.root, "--journal", journal)
    assert proc.returncode == 2
    err = flat(proc.stderr)
    assert "the service's certificate was refused" in err
    assert "certificate verify failed" in err
    assert _requests(shared) == before  # not one request got through


def test_the_same_run_works_once_the_authority_is_trusted(
    shared: ServiceProcess, https: Path, ca: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    tree = make_tree(tmp_path / "t", files=5, largest=10_000, name="tls-trusted")
    out = tmp_path / "m.jsonl"
    proc = run("--profile", https, tree.root, "--journal", tmp_path / "j.sqlite",
               "--manifest", out, env=push_env(SSL_CERT_FILE=str(bundle)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {r["cid"] for r in file_rows(out).values()} == tree.distinct


class FifoWatch:
    """Notices any process opening a FIFO for reading: while one has it open, opening
    it for writing without blocking succeeds (otherwise ENXIO)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.readers_seen = 0
        self.probes = 0
        self.errors: list[OSError] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.probes += 1
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader, as it should be
                    self.errors.append(exc)
            else:
                os.close(fd)
                self.readers_seen += 1
            time.sleep(0.0005)

    def __enter__(self) -> FifoWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_fifo_in_the_tree_is_never_opened(
    new_account: Callable[[], Path], tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "t", files=30, largest=100_000, name="fifo-watch")
    fifo = tree.root / "d0" / "pipe"
    fifo.parent.mkdir(exist_ok=True)
    os.mkfifo(fifo)
    out = tmp_path / "m.jsonl"
    with FifoWatch(fifo) as watch:
        proc = run("--profile", new_account(), tree.root, "--journal", tmp_path / "j.sqlite",
                   "--manifest", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert watch.probes > 10
    assert watch.readers_seen == 0
    assert watch.errors == []
    assert file_rows(out)[b"t/d0/pipe"]["status"] == "skipped"


def test_device_node_in_the_tree_is_skipped_not_read(
    shared: ServiceProcess, new_account: Callable[[], Path], tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "t", files=5, largest=10_000, name="device")
    zero = tree.root / "zero"
    try:
        os.mknod(zero, 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero: endless bytes
    except PermissionError:
        pytest.skip("cannot make device nodes here")
    profile = new_account()
    out = tmp_path / "m.jsonl"
    proc = run("--profile", profile, tree.root, "--journal", tmp_path / "j.sqlite",
               "--manifest", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = file_rows(out)[b"t/zero"]
    assert (row["status"], row["error"]) == (
        "skipped", "not a regular file (FIFO, socket or device); never opened")
    assert_complete(shared, tree, out, profile=profile)
