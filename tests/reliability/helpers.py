"""Shared pieces of the reliability suite: scale, seeded trees, invariants, ports.

Scale: CI runs small counts; ``BULKPIN_SOAK=1`` runs the figures of issue 7
(2,000 files up to 8 MiB plus two of 64 MiB, 20 random kills, a 30 s outage,
10,000 fuzzed requests). ``BULKPIN_SEED`` shifts every seed, to replay or vary.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkpin.signing import load_private_key, sign_cid
from bulkpin.unixfs import hash_bytes
from tests.support.push import cloud_get, env_without_settings, manifest
from tests.support.service import ServiceProcess
from tests.unixfs.content import content

KiB, MiB = 1024, 1024 * 1024

SOAK = os.environ.get("BULKPIN_SOAK", "") not in ("", "0")
SEED = int(os.environ.get("BULKPIN_SEED", "0"))

#: The chaos mix of issue 7: about 10% of requests fail, every kind seeded.
CHAOS_FAULTS = "*:503=0.03,429=0.02,reset=0.02,drop=0.01,slow=0.01,garbage=0.01"


def seed(name: str) -> int:
    """A stable seed per use, shifted by ``BULKPIN_SEED``."""
    return SEED * 1_000_003 + sum(name.encode()) * 7919 + len(name)


@dataclass(frozen=True)
class Tree:
    """A generated tree: display path bytes -> expected CID, and the bytes of each file."""

    root: Path
    cids: dict[bytes, str]
    sizes: dict[bytes, int]

    @property
    def distinct(self) -> set[str]:
        """The distinct CIDs (duplicate contents share one)."""
        return set(self.cids.values())


def _size(rng: random.Random, largest: int) -> int:
    """Sizes spread over the decades, with the chunk boundaries and 0/1 common."""
    pick = rng.random()
    if pick < 0.04:
        return rng.choice((0, 1))
    if pick < 0.10:
        return rng.choice((256 * KiB - 1, 256 * KiB, 256 * KiB + 1))
    return int(2 ** rng.uniform(1, largest.bit_length() - 1))


def make_tree(root: Path, *, files: int, largest: int, big: Sequence[int] = (),
              name: str = "t", duplicates: int = 0) -> Tree:
    """``files`` seeded files of 0..``largest`` bytes in nested dirs, ``big`` extra large
    ones, and ``duplicates`` copies of earlier contents under other names."""
    rng = random.Random(seed(f"tree:{name}:{files}:{largest}"))
    cids: dict[bytes, str] = {}
    sizes: dict[bytes, int] = {}
    base = os.fsencode(root.name)

    def put(rel: str, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        key = base + b"/" + os.fsencode(rel)
        cids[key] = hash_bytes(data).cid
        sizes[key] = len(data)

    specs: list[tuple[str, int]] = []
    for i in range(files):
        depth = rng.randrange(4)
        parts = [f"d{rng.randrange(6)}" for _ in range(depth)]
        rel = "/".join([*parts, f"f{i:05}.bin"])
        specs.append((rel, _size(rng, largest)))
    for rel, size in specs:
        put(rel, content(f"{name}:{rel}", size))
    for j, size in enumerate(big):
        put(f"big/big{j}.bin", content(f"{name}:big{j}", size))
    for k in range(duplicates):
        rel, size = specs[rng.randrange(len(specs))]
        put(f"copies/copy{k}.bin", content(f"{name}:{rel}", size))
    return Tree(root, cids, sizes)


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int) -> list[int]:
    """Ports free on loopback now, below the ephemeral range: while a service on one
    is down, no outgoing connection can take it as its local port."""
    rng = random.Random()
    low = _ephemeral_low()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port not in ports:
            ports.append(port)
    return ports


def fixed_port_args(*extra: str) -> tuple[str, ...]:
    """``serve`` options with the Cloud and Endpoint on fixed ports, so a restart keeps them."""
    cloud, endpoint = free_ports(2)
    return ("--cloud-port", str(cloud), "--endpoint-ports", str(endpoint), *extra)


def push_env(**extra: str) -> dict[str, str]:
    """The environment for a push under test: no stray account, plus ``extra``."""
    env = env_without_settings("BULKPIN_SOAK", "BULKPIN_SEED")
    env.update(extra)
    return env


def push_cmd(*args: str | Path) -> list[str]:
    """The command line of ``bulkpin push ARGS`` (name the account with ``--profile``)."""
    return [sys.executable, "-m", "bulkpin", "push", *(str(a) for a in args)]


def run(*args: str | Path, env: dict[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``bulkpin push ARGS`` to completion (stdout, stderr captured as text)."""
    return subprocess.run(push_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          check=False, env=env or push_env(), stdin=subprocess.DEVNULL)


def start(*args: str | Path, env: dict[str, str] | None = None,
          stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """``bulkpin push ARGS`` in the background (stdout piped)."""
    return subprocess.Popen(push_cmd(*args), stdout=subprocess.PIPE, stderr=stderr, text=True,
                            env=env or push_env(), stdin=subprocess.DEVNULL)


def killed(proc: subprocess.Popen[str] | subprocess.CompletedProcess[str]) -> bool:
    """Whether the process died of SIGKILL."""
    return proc.returncode == -signal.SIGKILL


def integrity(journal: Path) -> str:
    """SQLite's ``PRAGMA integrity_check`` on a journal, read-only."""
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def journal_states(journal: Path) -> dict[str, int]:
    """Files per state in a journal."""
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall())
    finally:
        conn.close()


def file_rows(path: Path) -> dict[bytes, dict[str, Any]]:
    """A JSONL manifest's file rows, by path bytes."""
    return {os.fsencode(str(r["path"])): r for r in manifest(path) if r["kind"] == "file"}


def _paged(service: ServiceProcess, route: str, key: str,
           profile: Path | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = cloud_get(service, f"{route}?limit=1000&offset={len(items)}&sort=ASC", profile)
        items += page[key]
        if not page[key] or len(items) >= int(page["Count"]):
            return items


def pins_of(service: ServiceProcess, profile: Path | None = None) -> list[dict[str, Any]]:
    """Every pin of an account (the service's own by default), through ``pinList``."""
    return _paged(service, "/pinning/pinList", "Pins", profile)


def jobs_of(service: ServiceProcess, profile: Path | None = None) -> list[dict[str, Any]]:
    """Every pin job of an account, through ``pinJobs``."""
    return _paged(service, "/pinning/pinJobs", "Jobs", profile)


def assert_complete(service: ServiceProcess, tree: Tree, manifest_path: Path,
                    *, journal: Path | None = None, profile: Path | None = None,
                    others: Iterable[str] = ()) -> None:
    """The invariants of issue 7: every file pinned with its local CID, none lost, no CID
    with a second job, the manifest agreeing with ``pinList``, the journal sound.

    ``profile`` names the account (the service's default one if None); ``others``
    are CIDs pinned on it by something else (allowed in ``pinList``).
    """
    rows = file_rows(manifest_path)
    lost = sorted(set(tree.cids) - set(rows))
    assert lost == [], f"{len(lost)} files missing from the manifest: {lost[:5]}"
    not_pinned = {p: (r["status"], r["error"]) for p, r in rows.items()
                  if p in tree.cids and r["status"] != "pinned"}
    assert not_pinned == {}, f"{len(not_pinned)} files not pinned: {list(not_pinned.items())[:5]}"
    wrong = {p: (r["cid"], tree.cids[p]) for p, r in rows.items()
             if p in tree.cids and r["cid"] != tree.cids[p]}
    assert wrong == {}, f"manifest CIDs differ from local CIDs: {list(wrong.items())[:5]}"
    assert all(int(rows[p]["size"]) == tree.sizes[p] for p in tree.cids)

    pins = pins_of(service, profile)
    pinned = {p["PinHash"]: int(p["PinSize"]) for p in pins}
    missing = tree.distinct - set(pinned)
    assert missing == set(), f"{len(missing)} CIDs not in pinList: {sorted(missing)[:5]}"
    # pinList agrees with the manifest: the same CIDs, with the sizes on disk.
    by_cid = {tree.cids[p]: tree.sizes[p] for p in tree.cids}
    assert {c: pinned[c] for c in by_cid} == by_cid
    unexpected = set(pinned) - tree.distinct - set(others)
    assert unexpected == set(), f"pins nobody asked for: {sorted(unexpected)[:5]}"
    # One job per CID: nothing was pinned twice.
    jobs = [j for j in jobs_of(service, profile) if j["PinHash"] in tree.distinct]
    per_cid: dict[str, int] = {}
    for job in jobs:
        per_cid[job["PinHash"]] = per_cid.get(job["PinHash"], 0) + 1
    twice = {c: n for c, n in per_cid.items() if n > 1}
    assert twice == {}, f"CIDs with more than one job: {list(twice.items())[:5]}"
    assert {j["Status"] for j in jobs} == {"pinned"}
    if journal is not None:
        assert integrity(journal) == "ok"


def account(service: ServiceProcess, profile: Path | None = None) -> dict[str, str]:
    """A profile's fields (api_key, private_key, cloud_url)."""
    data = tomllib.loads((profile or service.profile_path).read_text())
    return {k: str(v) for k, v in data.items()}


def secrets_of(cids: Iterable[str], private_key: str) -> list[str]:
    """The ``secret`` of each CID, as the client computes it."""
    key = load_private_key(private_key)
    return [sign_cid(key, cid) for cid in sorted(set(cids))]


def write_profile(path: Path, fields: dict[str, str], mode: int = 0o600) -> Path:
    """A profile file with ``fields`` (strings), at ``mode``."""
    lines = [f'{k} = "{v}"' for k, v in fields.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(mode)
    return path


def new_accounts(service: ServiceProcess, *names: str) -> list[Path]:
    """Add accounts ``names`` to a (running) service in one go; their profiles' paths."""
    args = [a for name in names for a in ("--new-account", name)]
    result = subprocess.run(
        [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(service.data_dir),
         "--init-only", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    return [service.data_dir / f"profile-{name}.toml" for name in names]


#: Figure lines reported at the end of the session (see conftest's terminal summary).
FIGURES: list[str] = []


def figure(text: str) -> None:
    """Report one measured figure of the suite."""
    FIGURES.append(text)


class JsonRun:
    """A ``bulkpin push --json`` in the background, its events collected as they come."""

    def __init__(self, *args: str | Path, env: dict[str, str] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.proc = start(*args, "--json", env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def files(self) -> int:
        """File outcomes reported so far."""
        return sum(1 for e in self.events if e.get("event") == "file")

    def wait_files(self, count: int, timeout: float = 120) -> None:
        """Until ``count`` files have an outcome (AssertionError if the run ends first)."""
        deadline = time.monotonic() + timeout
        while self.files() < count:
            assert self.proc.poll() is None, f"the run ended early: exit {self.proc.returncode}"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)

    def running(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def wait(self, timeout: float = 600) -> int:
        """The exit status, once the run ends."""
        self.proc.wait(timeout)
        self._reader.join(30)
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        """What the run wrote on stderr (once it ended)."""
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def summary(self) -> dict[str, Any]:
        """The final summary event."""
        return next(e for e in self.events if e.get("event") == "summary")

    def notices(self) -> list[str]:
        """The notices' messages."""
        return [str(e["message"]) for e in self.events if e.get("event") == "notice"]


def flat(text: str) -> str:
    """``text`` with every run of whitespace made one space (the summary wraps lines)."""
    return " ".join(text.split())


Case = Callable[[ServiceProcess, Path, Path], Any]


class SideBySide:
    """Cases that spend their time waiting (on a poll, a timeout, a backoff) run together,
    in threads, each against its own account and files; each test then reports its own
    case's outcome. On 2 cores this is what keeps the suite within minutes.

    A case is ``fn(service, profile, tmp_path)``; it asserts what it expects, and may
    return what tests should look at further.
    """

    def __init__(self, workers: int = 6) -> None:
        self.workers = workers
        self.cases: dict[str, Case] = {}

    def add(self, name: str, fn: Case) -> None:
        """Register ``fn`` as case ``name``."""
        assert name not in self.cases, name
        self.cases[name] = fn

    def case(self, name: str) -> Callable[[Case], Case]:
        """Decorator form of :meth:`add`."""
        def register(fn: Case) -> Case:
            self.add(name, fn)
            return fn

        return register

    def names(self, prefix: str = "") -> list[str]:
        """The cases whose names start with ``prefix``, for ``parametrize``."""
        return [name for name in self.cases if name.startswith(prefix)]

    @contextmanager
    def running(self, service: ServiceProcess,
                tmp_path_factory: Any) -> Iterator[dict[str, Future[Any]]]:
        """Start every case (one new account each); yields their futures."""
        slugs = {name: f"c{i}-{seed(name) % 100_000}" for i, name in enumerate(self.cases)}
        profiles = dict(zip(self.cases, new_accounts(service, *slugs.values()), strict=True))
        with ThreadPoolExecutor(self.workers) as pool:
            yield {name: pool.submit(fn, service, profiles[name],
                                     tmp_path_factory.mktemp(slugs[name]))
                   for name, fn in self.cases.items()}
