"""The chaos run (issue 7, items 1 and 7): a tree pushed while about 10% of requests fail.

The service draws, with one seeded generator, 3% 503, 2% 429, 2% resets while
the request body is read, 1% drops after the work is committed, 1% answers held
back 2 s and 1% garbage answers, on every route. The push runs at ``-vv``
(DEBUG) through a proxy in front of the Endpoint that records the access
tokens the client really sent, so the log can be searched for them.

CI scale: 300 files of 0 B to 512 KiB plus two of 8 MiB. ``BULKPIN_SOAK=1``:
2,000 files of 0 B to 8 MiB plus two of 64 MiB.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bulkpin.testing.proxy import ChaosProxy
from bulkpin.unixfs import hash_file
from tests.support.service import ServiceProcess

from .helpers import (
    CHAOS_FAULTS,
    SOAK,
    KiB,
    MiB,
    Tree,
    account,
    assert_complete,
    figure,
    file_rows,
    fixed_port_args,
    make_tree,
    pins_of,
    run,
    secrets_of,
    seed,
)

FILES, LARGEST, BIG = (2000, 8 * MiB, [64 * MiB] * 2) if SOAK else (300, 512 * KiB, [8 * MiB] * 2)

pytestmark = pytest.mark.timeout(3600 if SOAK else 300)

_TOKEN_HEADER = re.compile(rb"UserAccessToken: ([^\r\n]+)\r\n")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


@dataclass
class Chaos:
    """What the chaos run left behind."""

    service: ServiceProcess
    tree: Tree
    proc: subprocess.CompletedProcess[str]
    stats: dict[str, Any]
    journal: Path
    manifest: Path
    tokens: set[str]


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    base = tmp_path_factory.mktemp("chaos")
    tree = make_tree(base / "tree", files=FILES, largest=LARGEST, big=BIG, name="chaos",
                     duplicates=10)
    ports = fixed_port_args("--job-delay", "0.05")
    service = ServiceProcess(base / "service", *ports, "--faults", CHAOS_FAULTS,
                             "--fault-seed", str(seed("chaos"))).start()
    tokens: set[str] = set()
    carry = [b""]

    def tap(chunk: bytes) -> None:
        window = carry[0] + chunk
        tokens.update(m.group(1).decode() for m in _TOKEN_HEADER.finditer(window))
        carry[0] = window[-1024:]

    journal, out = base / "journal.sqlite", base / "manifest.jsonl"
    try:
        with ChaosProxy(service.endpoint_urls[0]) as proxy:
            proxy.tap = tap
            proc = run("--profile", service.profile_path, tree.root, "--journal", journal,
                       "--manifest", out, "--endpoint", proxy.url, "-vv")
        stats = service.stats()
        # Read back what the service holds without faults in the way.
        service.restart(*ports)
        (base / "push.log").write_text(proc.stderr)
        yield Chaos(service, tree, proc, stats, journal, out, tokens)
    finally:
        service.stop()


def _faults(stats: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for by_status in stats["requests"].values():
        for status, n in by_status.items():
            if status in ("503", "429", "reset", "drop"):
                counts[status] = counts.get(status, 0) + n
    return counts


def test_chaos_run_ends_with_every_file_pinned(chaos: Chaos) -> None:
    assert chaos.proc.returncode == 0, chaos.proc.stderr[-3000:]
    faults = _faults(chaos.stats)
    requests = sum(sum(s.values()) for s in chaos.stats["requests"].values())
    # The faults really happened: every kind the service can count.
    assert set(faults) == {"503", "429", "reset", "drop"}, faults
    rows = file_rows(chaos.manifest)
    figure(
        f"chaos: {len(chaos.tree.cids)} files ({sum(chaos.tree.sizes.values()) / MiB:.0f} MiB),"
        f" {requests} requests, faults {faults} (+slow/garbage answers);"
        f" pinned {sum(r['status'] == 'pinned' for r in rows.values())}/{len(chaos.tree.cids)},"
        f" duplicate_jobs {chaos.stats['duplicate_jobs']}"
    )


def test_chaos_run_loses_nothing_and_pins_nothing_twice(chaos: Chaos) -> None:
    assert_complete(chaos.service, chaos.tree, chaos.manifest, journal=chaos.journal)
    assert chaos.stats["duplicate_jobs"] == 0


def test_every_pin_hash_is_the_local_cid_of_the_file_on_disk(chaos: Chaos) -> None:
    # Hashed again from disk, independently of the CIDs the tree was made with.
    rows = file_rows(chaos.manifest)
    pins = {p["PinHash"]: p for p in pins_of(chaos.service)}
    for display, row in rows.items():
        path = chaos.tree.root.parent / display.decode()
        local = hash_file(path)
        assert row["cid"] == local.cid
        assert int(pins[local.cid]["PinSize"]) == local.size


def test_debug_log_of_the_chaos_run_holds_no_secret(chaos: Chaos) -> None:
    log = chaos.proc.stderr
    assert " DEBUG " in log  # really a DEBUG-level log
    assert "pinFile" in log
    fields = account(chaos.service)
    api_key, private_key = fields["api_key"], fields["private_key"]
    assert api_key not in log
    # Not the key body, nor any 32-character piece of it.
    assert not [i for i in range(0, len(private_key) - 32, 16) if private_key[i:i + 32] in log]
    assert "PRIVATE KEY" not in log
    # The access tokens the client sent (caught on the wire by the proxy).
    assert chaos.tokens, "the proxy saw no access token"
    assert not [t for t in chaos.tokens if t in log]
    assert _JWT.findall(log) == []
    # The signature of every CID pushed.
    leaked = [s for s in secrets_of(chaos.tree.distinct, private_key) if s in log]
    assert leaked == []
    assert "secret" not in log.lower().replace("<redacted>", "")


def test_manifest_and_journal_of_the_chaos_run_hold_no_secret(chaos: Chaos) -> None:
    fields = account(chaos.service)
    needles = [fields["api_key"], fields["private_key"][:32], *chaos.tokens,
               *secrets_of(chaos.tree.distinct, fields["private_key"])]
    files = [chaos.manifest, *chaos.journal.parent.glob(chaos.journal.name + "*")]
    assert len(files) >= 2
    for path in files:
        data = path.read_bytes()
        assert [n for n in needles if n.encode() in data] == [], path
