"""The retry budget (issue 7, item 4): a 503 storm does not multiply the load.

Requests are counted on the wire, by proxies in front of the Cloud and the
Endpoint that see every request line the client sends (so a service restart
loses no count). A clean run of a tree sets the baseline; the same shape of
tree pushed into a storm of 503 on every route must cost fewer than twice as
many requests: while the service keeps failing, the client-wide budget drains
and each file is retried with a growing backoff instead of at once.

And the statuses that cannot get better by repeating (400, 403, 413, 422) are
sent exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from bulkpin.client import BadRequest, ContentMismatch, DecooClient, load_credentials
from bulkpin.testing.proxy import ChaosProxy
from bulkpin.unixfs import hash_bytes
from tests.support.service import ServiceProcess

from .helpers import (
    SOAK,
    JsonRun,
    KiB,
    Tree,
    account,
    assert_complete,
    figure,
    file_rows,
    fixed_port_args,
    flat,
    journal_states,
    make_tree,
    new_accounts,
    run,
    write_profile,
)

FILES = 1000 if SOAK else 150
STORM = 30.0 if SOAK else 3.0
PATIENCE = 30.0 if SOAK else 5.0

pytestmark = pytest.mark.timeout(1200 if SOAK else 300)


class Counted:
    """A profile whose Cloud and Endpoint are reached through counting proxies."""

    def __init__(self, service: ServiceProcess, path: Path) -> None:
        self.cloud = ChaosProxy(service.cloud_url).start()
        self.endpoint = ChaosProxy(service.endpoint_urls[0]).start()
        fields = account(service)
        fields.update(cloud_url=self.cloud.url, endpoint=self.endpoint.url)
        self.profile = write_profile(path, fields)

    def requests(self) -> int:
        """Every request the client sent, on both."""
        return sum(self.cloud.stats.requests.values()) + sum(
            self.endpoint.stats.requests.values())

    def close(self) -> None:
        self.cloud.stop()
        self.endpoint.stop()


@contextmanager
def counted(service: ServiceProcess, path: Path) -> Iterator[Counted]:
    c = Counted(service, path)
    try:
        yield c
    finally:
        c.close()


def _tree(base: Path, name: str) -> Tree:
    return make_tree(base / "tree", files=FILES, largest=64 * KiB, name=name)


def _clean(base: Path) -> int:
    with ServiceProcess(base / "service", "--job-delay", "0.05") as svc, \
            counted(svc, base / "profile.toml") as c:
        tree = _tree(base, "budget-clean")
        proc = run("--profile", c.profile, tree.root, "--journal", base / "j.sqlite",
                   "--manifest", base / "m.jsonl")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert_complete(svc, tree, base / "m.jsonl")
        return c.requests()


def _storm_for_good(base: Path) -> int:
    storm = ("--faults", "pinFile:503=1.0")
    with ServiceProcess(base / "service", "--job-delay", "0.05", *storm) as svc, \
            counted(svc, base / "profile.toml") as c:
        tree = _tree(base, "budget-storm")
        journal = base / "j.sqlite"
        proc = run("--profile", c.profile, tree.root, "--journal", journal,
                   "--patience", str(PATIENCE))
        assert proc.returncode == 3, proc.stderr[-3000:]
        assert "unreachable" in proc.stderr
        assert journal_states(journal).get("failed", 0) == 0
        return c.requests()


def _storm_then_clear(base: Path) -> int:
    ports = fixed_port_args("--job-delay", "0.05")
    with ServiceProcess(base / "service", *ports, "--faults", "*:503=1.0") as svc, \
            counted(svc, base / "profile.toml") as c:
        tree = _tree(base, "budget-passing")
        journal, out = base / "j.sqlite", base / "m.jsonl"
        push = JsonRun("--profile", c.profile, tree.root, "--journal", journal,
                       "--manifest", out)
        time.sleep(STORM)
        assert push.running()
        svc.restart(*ports)  # the storm passes
        assert push.wait() == 0, push.stderr[-3000:]
        assert_complete(svc, tree, out, journal=journal)
        return c.requests()


def _too_large(base: Path) -> int:
    with ServiceProcess(base / "service", "--job-delay", "0.05",
                        "--max-upload-size", str(64 * KiB)) as svc:
        tree = make_tree(base / "tree", files=12, largest=32 * KiB, name="413")
        (tree.root / "too-big.bin").write_bytes(b"x" * (100 * KiB))
        out = base / "m.jsonl"
        proc = run("--profile", svc.profile_path, tree.root, "--journal", base / "j",
                   "--manifest", out)
        assert proc.returncode == 1
        assert "tree/too-big.bin" in proc.stderr
        assert "413" in proc.stderr
        rows = file_rows(out)
        assert rows[b"tree/too-big.bin"]["status"] == "failed"
        assert "413" in str(rows[b"tree/too-big.bin"]["error"])
        assert all(r["status"] == "pinned" for p, r in rows.items() if p != b"tree/too-big.bin")
        return int(svc.stats()["requests"]["pinFile"]["413"])


def _wrong_key(base: Path) -> int:
    with ServiceProcess(base / "service", "--job-delay", "0.05") as svc:
        (other,) = new_accounts(svc, "other")
        fields = account(svc)
        wrong = write_profile(base / "wrong.toml",
                              {**fields, "private_key": account(svc, other)["private_key"]})
        tree = make_tree(base / "tree", files=15, largest=64 * KiB, name="403")
        journal, out = base / "j.sqlite", base / "m.jsonl"
        proc = run("--profile", wrong, tree.root, "--journal", journal, "--concurrency", "1")
        assert proc.returncode == 2
        assert "the private key does not belong to this API key's account" in flat(proc.stderr)
        refused = int(svc.stats()["requests"]["pinFile"]["403"])
        right = run("--profile", svc.profile_path, tree.root, "--journal", journal,
                    "--manifest", out)
        assert right.returncode == 0, right.stderr[-3000:]
        assert_complete(svc, tree, out, journal=journal)
        return refused


@pytest.fixture(scope="module", autouse=True)
def storms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[int]]]:
    """The runs of this module side by side (each has its own service and proxies)."""
    runs = {"clean": _clean, "for good": _storm_for_good, "then clear": _storm_then_clear,
            "413": _too_large, "403": _wrong_key}
    with ThreadPoolExecutor(len(runs)) as pool:
        yield {name: pool.submit(fn, tmp_path_factory.mktemp("budget"))
               for name, fn in runs.items()}


def test_a_storm_that_never_ends_costs_fewer_than_twice_a_clean_run(
    storms: dict[str, Future[int]],
) -> None:
    clean, storm = storms["clean"].result(), storms["for good"].result()
    figure(f"retry budget: clean run of {FILES} files {clean} requests; pinFile:503=1.0 until"
           f" --patience {PATIENCE:g} s: {storm} requests ({storm / clean:.2f}x)")
    assert storm < 2 * clean


def test_a_storm_that_passes_costs_fewer_than_twice_a_clean_run(
    storms: dict[str, Future[int]],
) -> None:
    clean, passing = storms["clean"].result(), storms["then clear"].result()
    figure(f"retry budget: *:503=1.0 for {STORM:g} s, then clear: {passing} requests"
           f" ({passing / clean:.2f}x the clean run), every file pinned once")
    assert passing < 2 * clean


# -- sent once --


def test_413_is_sent_once_and_fails_only_that_file(storms: dict[str, Future[int]]) -> None:
    assert storms["413"].result() == 1


def test_403_is_sent_once_and_stops_the_run_then_the_right_key_completes_it(
    storms: dict[str, Future[int]],
) -> None:
    assert storms["403"].result() == 1


@pytest.mark.anyio
async def test_422_is_sent_once(service: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"these bytes")
    credentials = load_credentials(profile=service.profile_path, env={})
    async with DecooClient(credentials) as client:
        with pytest.raises(ContentMismatch) as info:
            await client.pin_file(path, cid=hash_bytes(b"other bytes").cid)
    assert info.value.attempts == 1
    assert service.stats()["requests"]["pinFile"] == {"422": 1}


@pytest.mark.anyio
async def test_400_is_sent_once(service: ServiceProcess) -> None:
    credentials = load_credentials(profile=service.profile_path, env={})
    async with DecooClient(credentials) as client:
        with pytest.raises(BadRequest) as info:
            await client.pin_by_hash("not-a-cid")
    assert info.value.attempts == 1
    assert service.stats()["requests"]["pinByHash"] == {"400": 1}
