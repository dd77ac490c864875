"""``--concurrency auto`` end to end (issue 17, target 4): outcomes, not speed.

A real ``bulkpin serve`` behind the test proxy shaped as a WAN link (round trip
and a shared cap), and one that answers 429 and 503: every file is pinned, and
the controller's log says what it decided on the way.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from bulkpin.testing.proxy import ChaosProxy, Shape
from bulkpin.unixfs import hash_bytes
from tests.support.push import all_pins, run_push
from tests.support.service import ServiceProcess


def _tree(root: Path, count: int) -> dict[str, bytes]:
    files = {}
    for i in range(count):
        data = f"file {i}\n".encode() * (1 + i % 50)
        path = root / f"d{i % 7}" / f"f{i:04}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[hash_bytes(data).cid] = data
    return files


def _via(service: ServiceProcess, cloud: ChaosProxy, endpoint: ChaosProxy, path: Path) -> Path:
    fields = tomllib.loads(service.profile_path.read_text())
    fields.update(cloud_url=cloud.url, endpoint=endpoint.url)
    path.write_text("".join(f'{k} = "{v}"\n' for k, v in fields.items()))
    path.chmod(0o600)
    return path


def _summary(stdout: str) -> dict[str, object]:
    line = next(x for x in reversed(stdout.splitlines()) if x.startswith('{"event": "summary"'))
    return dict(json.loads(line))


def _decisions(log: Path) -> str:
    return "\n".join(x for x in log.read_text().splitlines() if "--concurrency auto" in x)


def test_auto_pins_every_file_through_a_shaped_link(tmp_path: Path) -> None:
    files = _tree(tmp_path / "tree", 150)
    shape = Shape(rtt=0.1, rate=2_000_000)
    log = tmp_path / "push.log"
    with ServiceProcess(tmp_path / "svc", "--job-delay", "0.05").start() as svc, \
            ChaosProxy(svc.cloud_url, shape=shape) as cloud, \
            ChaosProxy(svc.endpoint_urls[0], shape=shape) as endpoint:
        profile = _via(svc, cloud, endpoint, tmp_path / "via.toml")
        proc = run_push(None, "--profile", profile, "--journal", tmp_path / "j.sqlite",
                        "--json", "-v", "--log-file", log, "--max-concurrency", "128",
                        tmp_path / "tree")
        pins = all_pins(svc)
        uploads = endpoint.stats.requests["POST /pinning/pinFile"]
    assert proc.returncode == 0, proc.stderr
    assert {p["PinHash"] for p in pins} >= set(files)
    assert _summary(proc.stdout)["exit_status"] == 0
    # Every upload crossed the shaped link, each file once.
    assert uploads == len(files)
    assert "--concurrency auto:" in _decisions(log)


def test_auto_backs_off_on_429_and_503_and_still_pins_every_file(tmp_path: Path) -> None:
    files = _tree(tmp_path / "tree", 80)
    log = tmp_path / "push.log"
    with ServiceProcess(tmp_path / "svc", "--job-delay", "0.05", "--fault-seed", "7",
                        "--faults", "pinFile:429=0.05,503=0.05").start() as svc:
        proc = run_push(svc, "--journal", tmp_path / "j.sqlite", "--json", "-v",
                        "--log-file", log, tmp_path / "tree")
        pins = all_pins(svc)
    assert proc.returncode == 0, proc.stderr
    assert {p["PinHash"] for p in pins} >= set(files)
    assert "'overload answer': " in _decisions(log)


def test_a_fixed_concurrency_is_kept(tmp_path: Path) -> None:
    _tree(tmp_path / "tree", 20)
    log = tmp_path / "push.log"
    with ServiceProcess(tmp_path / "svc", "--job-delay", "0.05").start() as svc:
        proc = run_push(svc, "--journal", tmp_path / "j.sqlite", "--json", "-v",
                        "--log-file", log, "--concurrency", "3", tmp_path / "tree")
    assert proc.returncode == 0, proc.stderr
    assert _decisions(log) == ""  # no controller: exactly 3 workers


def test_concurrency_takes_auto_or_a_number(tmp_path: Path) -> None:
    proc = run_push(None, "--concurrency", "lots", "--dry-run", tmp_path)
    assert proc.returncode == 2
    assert "neither 'auto' nor a whole number" in proc.stderr
    proc = run_push(None, "--concurrency", "0", "--dry-run", tmp_path)
    assert proc.returncode == 2
