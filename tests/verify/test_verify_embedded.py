"""``bulkpin verify`` with no account: the embedded local service is the gateway (issue 27).

A push with no Decoo account configured goes to the embedded service; a
verify of the same PATHs, given no ``--gateway``, must start that service and
prove the pins against its trustless gateway (the public gateways never held
them), and see a blob damaged in its data dir as ``corrupt``.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

from bulkpin.service.config import default_data_dir
from tests.support.cli import bulkpin as _run

MiB = 1024 * 1024


def _events(proc: subprocess.CompletedProcess[str], kind: str) -> list[dict[str, Any]]:
    found = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return [e for e in found if e["event"] == kind]


def test_verify_of_an_embedded_push_uses_the_embedded_gateway(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    sizes = {"one-block": 1000, "two-blocks": 300_000, "many-blocks": 2 * MiB}
    for name, size in sizes.items():
        (tree / name).write_bytes(random.Random(name).randbytes(size))
    pushed = _run("push", tree)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert "No Decoo account configured" in pushed.stderr  # it went to the embedded one

    clean = _run("verify", tree, "--json", "--verify-journal", tmp_path / "v1.sqlite")
    assert clean.returncode == 0, clean.stderr[-3000:] + clean.stdout[-3000:]
    checked = _events(clean, "cid")
    assert {e["outcome"] for e in checked} == {"retrievable"}
    assert len(checked) == len(sizes)
    (summary,) = _events(clean, "summary")
    (gateway,) = summary["gateways"]  # the embedded service alone: no public gateway
    assert gateway.startswith("http://127.0.0.1:")
    assert {e["gateway"] for e in checked} == {gateway}

    # Damage one stored file in place (same size), as a failing disk would.
    by_name = {Path(e["name"]).name: e["cid"] for e in checked}
    damaged = by_name["many-blocks"]
    blob = default_data_dir() / "blobs" / damaged[-2:] / damaged
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))

    found = _run("verify", tree, "--json", "--verify-journal", tmp_path / "v2.sqlite")
    assert found.returncode == 1, found.stderr[-3000:] + found.stdout[-3000:]
    outcomes = {e["cid"]: e["outcome"] for e in _events(found, "cid")}
    assert outcomes.pop(damaged) == "corrupt"
    assert set(outcomes.values()) == {"retrievable"}
