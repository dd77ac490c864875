"""``bulkpin verify`` end to end: real ``bulkpin serve`` gateways on loopback, faults seeded."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import sound_and_faulty, store
from tests.support.push import run_push
from tests.support.service import ServiceProcess

V1 = "unixfs-v1-2025"
#: The CID of the empty raw block.
EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def verify(*args: str | Path, env: dict[str, str] | None = None,
           timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``bulkpin verify ARGS`` to completion; stdout/stderr captured as text."""
    full = dict(os.environ)
    full.pop("BULKPIN_PROFILE", None)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "bulkpin", "verify", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=full)


def events(proc: subprocess.CompletedProcess[str], kind: str) -> list[dict[str, Any]]:
    """The ``--json`` events of one kind."""
    found = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return [e for e in found if e["event"] == kind]


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    (summary,) = events(proc, "summary")
    return summary


def cid_list(path: Path, cids: list[str]) -> Path:
    path.write_text("".join(f"{cid}\n" for cid in cids))
    return path


def _tree(root: Path) -> dict[str, bytes]:
    files = {"a": 0, "b": 100, "sub/c": 300_000, "sub/d": 1_100_000, "copy-of-b": 100}
    made = {}
    for name, size in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        data = random.Random(name.replace("copy-of-", "")).randbytes(size)
        (root / name).write_bytes(data)
        made[name] = data
    return made


def test_a_pushed_tree_verifies_end_to_end(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _tree(tree)
    journal = tmp_path / "push.sqlite"
    pushed_manifest = tmp_path / "pushed.csv"
    pushed = run_push(service, tree, "--journal", journal, "--manifest", pushed_manifest)
    assert pushed.returncode == 0, pushed.stderr
    report = tmp_path / "report.jsonl"
    proc = verify("--journal", journal, "--gateway", service.cloud_url, "--json",
                  "--report", report)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    summary = summary_of(proc)
    # Five files, four contents: b and its copy are one CID, checked once.
    assert summary["counts"]["retrievable"] == 4
    assert sum(summary["counts"][k] for k in ("incomplete", "corrupt", "wrong-size",
                                              "unreachable")) == 0
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(rows) == 4
    assert {r["outcome"] for r in rows} == {"retrievable"}
    assert {r["gateway"] for r in rows} == {service.cloud_url}
    assert all(r["ttfb"] is not None and r["bytes_per_second"] is not None for r in rows)
    assert {r["missing_blocks"] for r in rows} == {0}
    # The push's manifest names the same CIDs, with their sizes.
    from_manifest = verify("--manifest", pushed_manifest, "--gateway", service.cloud_url,
                           "--json")
    assert from_manifest.returncode == 0, from_manifest.stderr + from_manifest.stdout
    assert {e["cid"] for e in events(from_manifest, "cid")} == {r["cid"] for r in rows}


def test_paths_find_the_push_journal_and_a_file_changed_on_disk_is_told(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    _tree(tree)
    pushed = run_push(service, tree)
    assert pushed.returncode == 0, pushed.stderr
    args = (tree, "--profile", service.profile_path, "--gateway", service.cloud_url, "--json")
    clean = verify(*args)
    assert clean.returncode == 0, clean.stderr + clean.stdout
    assert events(clean, "changed") == []
    (tree / "sub/c").write_bytes(b"not what was pushed")
    (tree / "a").unlink()
    report = tmp_path / "report.jsonl"
    changed = verify(*args, "--report", report)
    assert changed.returncode == 1, changed.stderr + changed.stdout
    told = {Path(e["name"]).name: e for e in events(changed, "changed")}
    assert set(told) == {"c", "a"}
    event = told["c"]
    assert event["name"].endswith("sub/c")
    assert event["disk"] is not None
    assert event["disk"] != event["pushed"]
    assert told["a"]["disk"] is None
    # What was pushed is still proven: nothing is fetched again for it.
    assert {e["outcome"] for e in events(changed, "cid")} == {"proven"}
    # The report has a row per changed file: its outcome and both CIDs.
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    files = {Path(r["name"]).name: r for r in rows if r["outcome"] == "changed"}
    assert set(files) == {"c", "a"}
    assert (files["c"]["cid"], files["c"]["disk_cid"]) == (event["pushed"], event["disk"])
    assert (files["a"]["cid"], files["a"]["disk_cid"]) == (told["a"]["pushed"], None)
    assert files["a"]["reason"] == "gone from disk"
    # ... beside the rows of the CIDs themselves, still retrievable.
    assert {r["outcome"] for r in rows if r["outcome"] != "changed"} == {"retrievable"}


def test_a_corrupt_block_names_the_gateway_that_served_it(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path,
) -> None:
    faulty = service_factory("--gateway-faults", "corrupt=0.5", "--fault-seed", "1")
    cid = store(faulty, random.Random(1).randbytes(4 * 1024 * 1024), V1)
    proc = verify("--from", cid_list(tmp_path / "cids", [cid]), "--gateway", faulty.cloud_url,
                  "--json")
    assert proc.returncode == 1, proc.stderr + proc.stdout
    (event,) = events(proc, "cid")
    assert (event["outcome"], event["gateway"]) == ("corrupt", faulty.cloud_url)
    summary = summary_of(proc)
    assert summary["counts"]["corrupt"] == 1
    assert summary["corrupt_gateways"] == {faulty.cloud_url: 1}
    plain = verify("--from", tmp_path / "cids", "--gateway", faulty.cloud_url)
    assert f"{faulty.cloud_url} served a block that does not match its CID" in plain.stderr


def test_incomplete_through_one_gateway_then_retrievable_with_a_sound_second(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path,
) -> None:
    data = random.Random(2).randbytes(5 * 1024 * 1024)
    # Seeded so that the root is served and some leaves are not.
    sound, faulty, cid, _, _ = sound_and_faulty(service_factory, data, "missing", 0.5)
    cids = cid_list(tmp_path / "cids", [cid])
    alone = verify("--from", cids, "--gateway", faulty.cloud_url, "--json")
    assert alone.returncode == 1, alone.stderr + alone.stdout
    (event,) = events(alone, "cid")
    assert event["outcome"] == "incomplete"
    assert event["missing_blocks"] > 0
    # The same input again resumes its journal: not yet proven, so checked again.
    both = verify("--from", cids, "--gateway", faulty.cloud_url, "--gateway", sound.cloud_url,
                  "--json")
    assert both.returncode == 0, both.stderr + both.stdout
    (event,) = events(both, "cid")
    assert (event["outcome"], event["gateway"]) == ("retrievable", sound.cloud_url)


def test_a_stalled_gateway_is_cut_at_the_timeout_and_the_next_one_used(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path,
) -> None:
    data = random.Random(4).randbytes(3 * 1024 * 1024)
    stalled = service_factory("--gateway-faults", "stall=1")
    sound = service_factory()
    cid = store(stalled, data, V1)
    store(sound, data, V1)
    report = tmp_path / "report.csv"
    proc = verify("--from", cid_list(tmp_path / "cids", [cid]), "--gateway", stalled.cloud_url,
                  "--gateway", sound.cloud_url, "--timeout", "1", "--json", "--report", report)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (event,) = events(proc, "cid")
    assert event["gateway"] == sound.cloud_url
    assert [(f["gateway"], f["kind"]) for f in event["failures"]] == [
        (stalled.cloud_url, "timeout")]
    text = report.read_text()
    assert f"{stalled.cloud_url}: timeout" in text


def _stored(svc: ServiceProcess, n: int) -> list[str]:
    return [store(svc, f"file {i}".encode(), V1) for i in range(n)]


def test_a_seeded_sample_is_the_same_twice(service: ServiceProcess, tmp_path: Path) -> None:
    cids = cid_list(tmp_path / "cids", _stored(service, 30))

    def sample(seed: str, size: str, journal: str) -> list[str]:
        proc = verify("--from", cids, "--gateway", service.cloud_url, "--sample", size,
                      "--seed", seed, "--verify-journal", tmp_path / journal, "--json",
                      "--concurrency", "1")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return [e["cid"] for e in events(proc, "cid")]

    first = sample("s", "7", "one")
    assert len(first) == 7
    assert sample("s", "7", "two") == first  # the same CIDs, in the same order
    assert sample("other", "7", "three") != first
    assert set(first) <= set(sample("s", "12", "four"))  # a larger sample holds the smaller
    assert sample("s", "40%", "five") == sample("s", "40%", "six")


def test_kill_9_mid_run_then_resume_checks_nothing_already_proven(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    all_cids = _stored(service, 20)
    cids = cid_list(tmp_path / "cids", all_cids)
    args = ("--from", cids, "--gateway", service.cloud_url, "--json", "--concurrency", "1")
    killed = verify(*args, env={"BULKPIN_CRASH_AT": "commit:8"})
    assert killed.returncode == -9, killed.stderr
    assert events(killed, "summary") == []
    # What the killed run told: its item lines are flushed every 50 ms, so a
    # kill -9 may take the last few (or, on a fast machine, all) with it.
    told = {e["cid"] for e in events(killed, "cid")}
    resumed = verify(*args)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    results = {e["cid"]: e["outcome"] for e in events(resumed, "cid")}
    assert set(results) == set(all_cids)
    proven_before = {c for c, r in results.items() if r == "proven"}
    # The killed run's commits survived it: some CIDs are proven from its journal,
    # not all (it died at its eighth commit), and every one it told is among them.
    assert proven_before
    assert len(proven_before) < len(all_cids)
    assert told <= proven_before
    # Only what was not proven is fetched again.
    assert {c for c, r in results.items() if r == "retrievable"} == set(all_cids) - proven_before
    # --since re-checks what was proven before it, whatever the journal says.
    again = verify(*args, "--since", "2999-01-01")
    assert {e["outcome"] for e in events(again, "cid")} == {"retrievable"}


def test_an_interrupted_run_exits_3_and_resumes(service: ServiceProcess,
                                                 tmp_path: Path) -> None:
    cids = cid_list(tmp_path / "cids", _stored(service, 12))
    args = ("--from", cids, "--gateway", service.cloud_url, "--json", "--concurrency", "1")
    stopped = verify(*args, env={"BULKPIN_SIGNAL_AT": "verified:5:SIGINT"})
    assert stopped.returncode == 3, stopped.stderr + stopped.stdout
    assert "interrupted" in summary_of(stopped)["reason"]
    checked = {e["cid"] for e in events(stopped, "cid")}
    resumed = verify(*args)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert {e["cid"] for e in events(resumed, "cid") if e["outcome"] == "proven"} == checked


@pytest.mark.parametrize("args", [
    (),
    ("--from", "CIDS", "--manifest", "m.jsonl"),
    ("--from", "no-such-file"),
    ("--journal", "no-such-journal"),
    ("--journal", "CIDS"),  # a file, but no journal
    ("--manifest", "m.txt"),
    ("--from", "CIDS", "--sample", "0"),
    ("--from", "CIDS", "--sample", "150%"),
    ("--from", "CIDS", "--sample", "many"),
    ("--from", "CIDS", "--gateway", "ftp://example.org"),
    ("--from", "CIDS", "--gateway", "not a url"),
    ("--from", "CIDS", "--since", "yesterday"),
    ("--from", "CIDS", "--report", "r.txt"),
    ("--from", "CIDS", "--concurrency", "0"),
])
def test_usage_errors_exit_2_before_anything_is_fetched(
    args: tuple[str, ...], tmp_path: Path, home: Path,
) -> None:
    cids = cid_list(tmp_path / "CIDS", [EMPTY_RAW])
    os.chdir(tmp_path)
    proc = verify(*(str(cids) if a == "CIDS" else a for a in args),
                  "--gateway" if "--gateway" not in args else "--seed",
                  "http://127.0.0.1:9" if "--gateway" not in args else "0")
    assert proc.returncode == 2, proc.stderr
    assert "Usage" in proc.stderr or "error" in proc.stderr
    assert not (home / ".local/state/bulkpin/verifications").exists()  # no journal made
