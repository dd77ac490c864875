"""The account is the truth: a journal belongs to one destination, and what it holds is not sent.

Against ``bulkpin serve`` with two accounts (``--new-account``), as a user runs it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

from bulkpin.unixfs import hash_bytes
from tests.push.test_single_read import _bytes_read
from tests.support.cli import invoke
from tests.support.push import all_pins, manifest, pin_file_requests, run_push
from tests.support.service import ServiceProcess

MiB = 1 << 20


def _tree(root: Path, n: int = 6) -> dict[str, bytes]:
    root.mkdir()
    files = {f"f{i}": os.urandom(1000 + i) for i in range(n)}
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


def _push_to(profile: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return invoke("push", "--profile", profile, *args, env={"BULKPIN_PROFILE": None})


def _pins_of(service: ServiceProcess, profile: Path) -> set[str]:
    proc = invoke("ls", "--profile", profile, "--json")
    assert proc.returncode == 0, proc.stderr
    return {json.loads(line)["cid"] for line in proc.stdout.splitlines()}


def test_a_second_account_gets_every_file(service: ServiceProcess, tmp_path: Path) -> None:
    files = _tree(tmp_path / "photos")
    first = run_push(service, tmp_path / "photos")  # the default journal
    assert first.returncode == 0, first.stderr
    other = service.new_account("other")
    second = _push_to(other, tmp_path / "photos", "--json")
    assert second.returncode == 0, second.stderr
    # Nothing "skipped as unchanged": that journal belonged to the first account.
    assert '"outcome": "unchanged"' not in second.stdout
    assert _pins_of(service, other) == {hash_bytes(d).cid for d in files.values()}


def test_a_journal_of_another_account_is_refused(
    service: ServiceProcess, tmp_path: Path
) -> None:
    _tree(tmp_path / "t")
    journal = tmp_path / "j.sqlite"
    assert run_push(service, tmp_path / "t", "--journal", journal).returncode == 0
    other = service.new_account("other")
    proc = _push_to(other, tmp_path / "t", "--journal", journal)
    assert proc.returncode == 2
    assert "belongs to" in proc.stderr
    assert proc.stderr.count("(account ") == 2  # names both destinations
    assert _pins_of(service, other) == set()


def test_a_fresh_journal_uploads_nothing_the_account_holds(
    service: ServiceProcess, tmp_path: Path
) -> None:
    files = _tree(tmp_path / "t", 20)
    (tmp_path / "t" / "big").write_bytes(os.urandom(3 * MiB))  # streamed, not hashed first
    assert run_push(service, tmp_path / "t", "--journal", tmp_path / "j1").returncode == 0
    before = service.stats()
    out = tmp_path / "m.jsonl"
    proc = run_push(service, tmp_path / "t", "--journal", tmp_path / "j2", "--manifest", out,
                    "--json")
    assert proc.returncode == 0, proc.stderr
    after = service.stats()
    assert after["bytes_received"] == before["bytes_received"]
    assert after["jobs"] == before["jobs"]
    assert proc.stdout.count('"outcome": "held"') == len(files) + 1
    rows = [r for r in manifest(out) if r["kind"] == "file"]
    assert {r["status"] for r in rows} == {"pinned"}


def test_an_old_journal_is_checked_before_it_is_trusted(
    service: ServiceProcess, tmp_path: Path
) -> None:
    # A journal written before destinations, by a push to another service: its
    # "pinned" must not be believed by this account.
    _tree(tmp_path / "t")
    journal = tmp_path / "j.sqlite"
    elsewhere = ServiceProcess(tmp_path / "elsewhere", "--job-delay", "0.05").start()
    with elsewhere:
        assert run_push(elsewhere, tmp_path / "t", "--journal", journal).returncode == 0
    with sqlite3.connect(journal) as conn:
        conn.execute("DELETE FROM meta WHERE key LIKE 'destination%'")
    proc = run_push(service, tmp_path / "t", "--journal", journal)
    assert proc.returncode == 0, proc.stderr
    assert "checked against" in proc.stderr
    assert len(all_pins(service)) == 6


def test_overlapping_paths_pin_each_file_once(service: ServiceProcess, tmp_path: Path) -> None:
    a = tmp_path / "a"
    files = _tree(a)
    (a / "sub").mkdir()
    (a / "sub" / "deep").write_bytes(b"deep file")
    listing = tmp_path / "list"
    listing.write_bytes(b"".join(bytes(a / n) + b"\n" for n in ["f0", "f0", "f1"]))
    proc = run_push(service, a, a / "sub", a, "--journal", tmp_path / "j", "--json")
    assert proc.returncode == 0, proc.stderr
    assert service.stats()["duplicate_jobs"] == 0
    assert pin_file_requests(service) == len(files) + 1
    assert proc.stdout.count('"event": "file"') == len(files) + 1
    again = run_push(service, "--files-from", listing, "--journal", tmp_path / "j2", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count('"event": "file"') == 2


def test_same_size_large_files_are_read_once(service: ServiceProcess, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "one").write_bytes(b"1")
    tree = tmp_path / "shards"
    tree.mkdir()
    for i in range(8):  # split-archive shape: one size, different bytes
        (tree / f"part{i:03}").write_bytes(os.urandom(3 * MiB))
    (tree / "copy").write_bytes((tree / "part000").read_bytes())  # and one real copy
    total = sum(p.stat().st_size for p in tree.iterdir())
    overhead = _bytes_read(service, empty, tmp_path)
    reads = (_bytes_read(service, tree, tmp_path) - overhead) / total
    # Hashing every same-size file first would read 8 of the 9 twice (1.9).
    # The copy itself is hashed first (its prefix matches), so it is read twice.
    assert reads < 1.05 + 1 / 9, reads
    assert service.stats()["duplicate_jobs"] == 0
    assert len(all_pins(service)) == 8 + 1  # the parts, and the overhead run's one file


def test_a_deleted_file_stops_failing(service_factory: object, tmp_path: Path) -> None:
    assert callable(service_factory)
    svc: ServiceProcess = service_factory("--max-upload-size", "100000")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "ok").write_bytes(b"fine")
    (tree / "huge").write_bytes(os.urandom(200_000))  # refused with 413: failed
    journal = tmp_path / "j"
    assert run_push(svc, tree, "--journal", journal).returncode == 1
    (tree / "huge").unlink()
    out = tmp_path / "m.jsonl"
    proc = run_push(svc, tree, "--journal", journal, "--manifest", out, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count('"outcome": "gone"') == 1
    rows = {r["path"]: r["status"] for r in manifest(out) if r["kind"] == "file"}
    assert rows == {"t/ok": "pinned", "t/huge": "gone"}
    third = run_push(svc, tree, "--journal", journal, "--json")
    assert third.returncode == 0
    assert '"outcome": "gone"' not in third.stdout  # reported once


def _check(profile: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return invoke("check", "--profile", profile, *args)


def test_check_before_and_after_a_partial_push(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    _tree(tree, 5)
    first = tmp_path / "first"
    first.write_bytes(bytes(tree / "f0") + b"\n" + bytes(tree / "f1") + b"\n")
    assert run_push(service, "--files-from", first).returncode == 0
    missing = tmp_path / "missing.txt"
    before = _check(service.profile_path, tree, "--missing-to", missing, "--json")
    assert before.returncode == 1, before.stderr
    summary = json.loads(before.stdout.splitlines()[-1])
    assert summary["counts"] == {"on_account": 2, "pending": 0, "missing": 3, "changed": 0,
                                 "unreadable": 0}
    assert sorted(missing.read_bytes().split()) == [bytes(tree / f"f{i}") for i in (2, 3, 4)]
    # What check wrote is what --files-from reads: the push completes the tree.
    assert run_push(service, "--files-from", missing).returncode == 0
    after = _check(service.profile_path, tree)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "on the account 5, missing 0" in after.stderr
    # A file pinned by push, then changed: the journal knew it, the account lacks it now.
    assert run_push(service, tree).returncode == 0
    (tree / "f0").write_bytes(b"new content")
    changed = _check(service.profile_path, tree, "--json")
    assert changed.returncode == 1
    rows = {json.loads(line)["path"]: json.loads(line)["status"]
            for line in changed.stdout.splitlines()[:-1]}
    assert rows["t/f0"] == "changed"
    assert list(rows.values()).count("on_account") == 4
