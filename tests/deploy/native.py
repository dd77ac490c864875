"""Running deploy/'s shard commands natively, and checking what N shards did together.

As tests/service/test_compose.py does for docker-compose.yml: the deployment
file is read, not rewritten; each command runs as the pod or array task would
run it, with its paths mapped to temporary directories and its credentials
taken from a real ``bulkpin serve`` account.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.push import all_pins, env_without_settings, manifest

ROOT = Path(__file__).resolve().parents[2]


def base_env(tmp_path: Path) -> dict[str, str]:
    """This environment without any bulkpin setting, and with private config/state dirs.

    So a profile or journal in the user's own directories cannot stand in for
    what the deployment file provides. The suite's testing knobs (quick polls and retries) stay.
    """
    env = env_without_settings()
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    return env


def native(args: Sequence[str], volumes: Mapping[str, Path]) -> list[str]:
    """A container command line for this machine: our Python, temp dirs for mount paths."""
    out = [sys.executable, "-m", "bulkpin", *args[1:]] if args[0] == "bulkpin" else list(args)
    for n, arg in enumerate(out):
        for inside, outside in volumes.items():
            if arg == inside or arg.startswith(inside + "/"):
                out[n] = str(outside) + arg[len(inside):]
    return out


def make_tree(root: Path) -> dict[bytes, bytes]:
    """A tree of files with distinct contents (so no two shards share a CID); path -> bytes.

    Keys are display paths as push writes them (``<root name>/<relative path>``).
    """
    contents: dict[bytes, bytes] = {}

    def put(rel: bytes, data: bytes) -> None:
        path = os.fsencode(root) + b"/" + rel
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        contents[os.fsencode(root.name) + b"/" + rel] = data

    for n in range(48):
        size = (n * 7919) % 90_000
        put(f"d{n % 5}/sub{n % 3}/file-{n:03d}.bin".encode(),
            n.to_bytes(2, "big") * (size // 2 + 1))
    # Past --small-file: streamed while hashed, not hashed first.
    put(b"large/one.bin", os.urandom(1_500_000))
    put(b"large/two.bin", os.urandom(1_300_000))
    put(b"empty", b"")
    put("naïve café.txt".encode(), b"unicode name")
    put(b"latin1-caf\xe9.txt", b"a name that is not UTF-8")
    return contents


def cid_tree(tree: Path) -> tuple[dict[bytes, str], str]:
    """``bulkpin cid -r`` of the tree: file CIDs by display path, and the root CID."""
    proc = subprocess.run([sys.executable, "-m", "bulkpin", "cid", "-r", "--json", tree.name],
                          cwd=tree.parent, capture_output=True, timeout=300, check=True)
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    files = {os.fsencode(r["path"]): r["cid"] for r in records if r["kind"] == "file"}
    assert os.fsencode(records[-1]["path"]) == os.fsencode(tree.name)
    return files, records[-1]["cid"]


@dataclass(frozen=True)
class Shards:
    """What the shard manifests say, checked to cover the tree once."""

    rows: dict[bytes, dict[str, Any]]


def check_shards(manifests: Sequence[Path], expected: Mapping[bytes, str]) -> Shards:
    """Disjoint shares covering the tree, every file pinned with the CID ``cid -r`` gives."""
    rows: dict[bytes, dict[str, Any]] = {}
    for path in manifests:
        for row in manifest(path):
            if row["kind"] != "file":
                continue
            key = os.fsencode(row["path"])
            assert key not in rows, f"{row['path']} is in two shards"
            rows[key] = row
        assert rows, f"{path}: an empty shard; the tree is too small for the test to mean much"
    assert set(rows) == set(expected), "the shards do not cover the tree exactly"
    for key, row in rows.items():
        assert row["status"] == "pinned", row
        assert row["cid"] == expected[key], row
    return Shards(rows)


def check_pinned(service: Any, expected: Mapping[bytes, str]) -> None:
    """The account holds every file's CID."""
    pinned = {p["PinHash"] for p in all_pins(service)}
    missing = set(expected.values()) - pinned
    assert not missing, f"not pinned on the account: {sorted(missing)[:5]}"


def merged_root(manifests: Sequence[Path], out: Path) -> str:
    """``bulkpin manifest merge`` of the shard manifests; the root CID it wrote."""
    proc = subprocess.run(
        [sys.executable, "-m", "bulkpin", "manifest", "merge", *map(str, manifests),
         "-o", str(out), "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    roots = [row for row in manifest(out) if row["kind"] == "root"]
    assert len(roots) == 1
    assert json.loads(proc.stdout)["roots"][0]["cid"] == roots[0]["cid"]
    return str(roots[0]["cid"])
