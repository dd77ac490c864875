"""``push --processes N`` (issue 28, target 4): N workers, one run, each content sent once.

Against ``bulkpin serve``: a tree whose every content has a copy in another
directory (so a split by path would give the two copies to two workers), pushed
by three workers in-process; a stop asked mid-run (through the library, as the
parent's signal handler asks it) and the same run again; and, as real processes,
a SIGINT to the parent and a kill -9 of one worker, each resumed by the same
command. "Once" is counted by the service: its ``pinFile`` requests and the
jobs it made beyond one per CID.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from bulkpin.client import load_credentials
from bulkpin.core.events import ProgressEvent, PushEvent, Snapshot, Transfer
from bulkpin.core.snapshot import merge
from bulkpin.push import PushOptions
from bulkpin.push.processes import ProcessPush, process_journals, processes_dir, share_options
from tests.reliability.helpers import killed, push_env, start
from tests.support.cli import invoke
from tests.support.push import POLL_INTERVAL, all_pins, manifest, pin_file_requests, run_push
from tests.support.service import ServiceProcess, wait_for
from tests.unixfs.content import content

#: Distinct contents; the tree holds each twice, under two directories.
CONTENTS = 30
FILES = 2 * CONTENTS


def _tree(root: Path) -> Path:
    """``CONTENTS`` contents, each in ``a/`` and, renamed, in ``b/`` or ``c/``."""
    for i in range(CONTENTS):
        data = content(f"processes:{i}", 200 + 1531 * i)
        for path in (root / "a" / f"f{i:02}.bin", root / "bc"[i % 2] / f"copy-{i:02}.bin"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return root


def _files(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in rows if r["kind"] == "file"]


def _root(rows: list[dict[str, object]]) -> object:
    (root,) = [r for r in rows if r["kind"] == "root"]
    return root["cid"]


def _sent_once(service: ServiceProcess, rows: list[dict[str, object]]) -> None:
    """Every file pinned, the account holds each CID, each content went up once."""
    files = _files(rows)
    assert len(files) == FILES
    assert {r["status"] for r in files} == {"pinned"}
    cids = {str(r["cid"]) for r in files}
    assert len(cids) == CONTENTS
    assert cids <= {p["PinHash"] for p in all_pins(service)}
    assert pin_file_requests(service) == CONTENTS
    assert service.stats()["duplicate_jobs"] == 0


def test_three_processes_pin_each_file_once_with_the_root_of_one(
        service: ServiceProcess, tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    merged = tmp_path / "merged.jsonl"
    result = run_push(service, "--processes", "3", "--manifest", merged, tree)
    assert result.returncode == 0, result.stderr
    rows = manifest(merged)
    _sent_once(service, rows)
    assert f"root  {_root(rows)}  {tree}" in result.stderr
    (directory,) = Path(os.environ["XDG_STATE_HOME"]).glob("bulkpin/journals/*/*.processes")

    # The root as `bulkpin manifest merge` computes it from the workers' manifests...
    shares = sorted(directory.glob("*-of-3.jsonl"))
    assert len(shares) == 3
    by_merge = tmp_path / "by-merge.jsonl"
    assert invoke("manifest", "merge", *shares, "-o", by_merge).returncode == 0
    # ...and as a one-process push computes it, from the tree (which sends nothing more).
    one = tmp_path / "one.jsonl"
    single = run_push(service, "--journal", tmp_path / "one.sqlite", "--manifest", one, tree)
    assert single.returncode == 0, single.stderr
    assert _root(rows) == _root(manifest(by_merge)) == _root(manifest(one))
    assert pin_file_requests(service) == CONTENTS

    # status finds the run by its PATHs: every worker's journal, the merged root.
    status_manifest = tmp_path / "status.jsonl"
    status = invoke("status", tree, "--manifest", status_manifest)
    assert status.returncode == 0, status.stderr
    assert status.stdout.count(".processes/") == 3
    assert _root(manifest(status_manifest)) == _root(rows)


@pytest.fixture
def tree_dir(tmp_path: Path) -> Path:
    return _tree(tmp_path / "tree")


def test_a_stop_mid_run_then_the_same_run_pins_each_file_once(
        service: ServiceProcess, tree_dir: Path, tmp_path: Path) -> None:
    credentials = load_credentials(profile=service.profile_path)
    out = tmp_path / "m.jsonl"
    # 9 uploads a second across the workers: the run lasts seconds, a stop lands in it.
    options = PushOptions(rate_limit=9, poll_interval=POLL_INTERVAL,
                          journal=tmp_path / "run.sqlite", manifest=out)
    seen: list[Snapshot] = []

    def stop_early(event: PushEvent) -> None:
        if isinstance(event, ProgressEvent):
            seen.append(event.snapshot)
            # Once every worker has walked its share: each has work left to stop.
            if event.snapshot.source_done and event.snapshot.count("uploaded") >= 3:
                first.ask_stop()

    first = ProcessPush([str(tree_dir)], options, 3, credentials=credentials, on_event=stop_early)
    stopped = first.run()
    assert stopped.exit_status == 3
    assert stopped.reason == "interrupted"
    assert 0 < stopped.counts["pinned"] < FILES
    assert any(s.stopping for s in seen)
    assert len(process_journals(tmp_path / "run.sqlite")) == 3

    again = ProcessPush([str(tree_dir)], options, 3, credentials=credentials).run()
    assert again.exit_status == 0, again.reason
    assert again.counts["pinned"] == FILES
    kept = again.snapshot.count("unchanged") + again.snapshot.count("held")
    assert kept >= stopped.counts["pinned"]
    rows = manifest(out)
    _sent_once(service, rows)
    assert again.roots == [(str(tree_dir), _root(rows))]
    # The --journal given to push names the run for status too.
    status = invoke("status", "--journal", tmp_path / "run.sqlite", "--json")
    assert status.returncode == 0, status.stderr
    reports = [json.loads(line) for line in status.stdout.splitlines()]
    assert sum(r["counts"]["pinned"] for r in reports) == FILES
    assert len(reports) == 3


def _journal_rows(directory: Path, state: str) -> int:
    total = 0
    for path in directory.glob("*.sqlite"):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            total += conn.execute("SELECT COUNT(*) FROM files WHERE state = ?",
                                  (state,)).fetchone()[0]
        except sqlite3.Error:
            pass  # not made yet
        finally:
            conn.close()
    return total


def _workers(pid: int) -> list[int]:
    """The worker processes of the push ``pid`` (its spawned children)."""
    children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [c for c in children
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.mark.parametrize("how", ["sigint-to-the-parent", "kill-9-of-a-worker"])
def test_a_real_run_interrupted_then_resumed_by_the_same_command(
        service: ServiceProcess, tree_dir: Path, tmp_path: Path, how: str) -> None:
    # 6 uploads a second across the workers: each share takes seconds, so the
    # worker killed is still at work when it is killed.
    args = ("--profile", service.profile_path, "--processes", "3", "--rate-limit", "6",
            "--journal", tmp_path / "run.sqlite", "--manifest", tmp_path / "m.jsonl", tree_dir)
    directory = processes_dir(tmp_path / "run.sqlite")
    proc = start(*args, env=push_env())
    try:
        wait_for(lambda: _journal_rows(directory, "pinned") > 0, timeout=120)
        if how == "sigint-to-the-parent":
            proc.send_signal(signal.SIGINT)
        else:
            victim = _workers(proc.pid)[0]
            os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not killed(proc), err
    assert proc.returncode == 3, err
    # One summary, said by the parent, and how to resume it.
    assert err.count("bulkpin push") == 1, err
    assert "Run the same command again to resume." in err
    if how == "sigint-to-the-parent":
        assert err.count("Stopping: no new files start") == 1, err
    else:
        assert f"(pid {victim}) was killed by signal 9" in err, err

    resumed = start(*args, env=push_env())
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    _sent_once(service, manifest(tmp_path / "m.jsonl"))


@pytest.mark.parametrize(("args", "said"), [
    (["--processes", "0"], "0 is not in 1..64"),
    (["--processes", "65"], "65 is not in 1..64"),
    (["--processes", "many"], "'many' is neither 'auto' nor a whole number"),
    (["--processes", "2", "--shard", "0/2"], "give --processes or --shard, not both"),
    (["--processes", "2", "s3://bucket/prefix"], "an s3:// or --urls push runs in one process"),
])
def test_processes_it_cannot_take_are_usage_errors_before_anything_is_sent(
        service: ServiceProcess, tree_dir: Path, args: list[str], said: str) -> None:
    paths = [] if any(a.startswith("s3://") for a in args) else [str(tree_dir)]
    result = run_push(service, *args, *paths)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr
    assert pin_file_requests(service) == 0


def test_each_worker_takes_its_share_and_its_part_of_every_total(tmp_path: Path) -> None:
    options = PushOptions(concurrency=10, max_concurrency=64, rate_limit=9.0, bwlimit=10_000,
                          memory=64 << 20, manifest=tmp_path / "m.jsonl")
    shares = [share_options(options, i, 3, tmp_path) for i in range(3)]
    assert [str(s.selection.shard) for s in shares] == ["0/3", "1/3", "2/3"]
    assert len({s.journal for s in shares}) == 3
    assert all(s.journal is not None and s.journal.parent == tmp_path for s in shares)
    first = shares[0]
    assert (first.concurrency, first.max_concurrency, first.rate_limit, first.bwlimit) == (
        4, 22, 3.0, 3333)
    assert first.memory == (64 << 20) // 3


def test_the_workers_snapshots_add_up() -> None:
    zero = Snapshot(kind="push", elapsed=0, source_done=True, found=0, done=0, in_flight=0,
                    counts={"uploaded": 0, "held": 0})
    one = dataclasses.replace(zero, elapsed=2.0, found=5, rate=10.0,
                              counts={"uploaded": 3, "held": 1},
                              transfers=(Transfer("a", 10, 1), Transfer("b", 30, 2)))
    two = dataclasses.replace(zero, elapsed=3.0, source_done=False, found=7, rate=5.0,
                              counts={"uploaded": 1, "held": 0}, stopping=True, gives_up_in=4.0,
                              transfers=(Transfer("c", 20, 0),) * 3)
    both = merge([one, two])
    assert (both.found, both.count("uploaded"), both.rate, both.elapsed) == (12, 4, 15.0, 3.0)
    assert both.count("held") == 1
    assert not both.source_done
    assert both.stopping
    assert both.gives_up_in == 4.0
    assert [t.size for t in both.transfers] == [30, 20, 20, 20]
