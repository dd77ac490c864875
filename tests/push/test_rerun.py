"""A re-run reads the journal a page at a time, and still trusts only what the account holds.

The planner's fast path (``journal.walk_rows``) settles an unchanged, pinned file
from a page of rows; these tests pin down that it reaches the very outcomes the
per-file path did, against ``bulkpin serve``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tomllib
import urllib.request
from pathlib import Path

from bulkpin.journal import WalkRows
from tests.support.push import all_pins, cloud_get, pin_file_requests, run_push
from tests.support.service import ServiceProcess


def _tree(root: Path, n: int) -> dict[str, bytes]:
    root.mkdir()
    files = {f"f{i:03}": os.urandom(100 + i) for i in range(n)}
    for name, data in files.items():
        (root / name).write_bytes(data)
    return files


def _outcomes(stdout: str) -> dict[str, str]:
    events = [json.loads(line) for line in stdout.splitlines()]
    files = [e for e in events if e["event"] == "file"]
    by_path = {e["path"]: e["outcome"] for e in files}
    assert len(by_path) == len(files), "a file was reported twice"
    return by_path


def _remove_pin(service: ServiceProcess, cid: str) -> None:
    """Unpin ``cid`` from the account, as ``ipfs pin remote rm`` would."""
    found = cloud_get(service, f"/psa/pins?cid={cid}")["results"]
    assert len(found) == 1
    key = tomllib.loads(service.profile_path.read_text())["api_key"]
    request = urllib.request.Request(f"{service.cloud_url}/psa/pins/{found[0]['requestid']}",
                                     method="DELETE",
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202


def test_a_pin_removed_from_the_account_is_sent_again(
    service: ServiceProcess, tmp_path: Path
) -> None:
    _tree(tmp_path / "t", 40)
    journal = tmp_path / "j.sqlite"
    assert run_push(service, tmp_path / "t", "--journal", journal).returncode == 0
    gone = all_pins(service)[7]
    _remove_pin(service, gone["PinHash"])
    sent = pin_file_requests(service)
    again = run_push(service, tmp_path / "t", "--journal", journal, "--json")
    assert again.returncode == 0, again.stderr
    outcomes = _outcomes(again.stdout)
    # The journal said pinned; the account said otherwise, and the account wins.
    assert sorted(outcomes.values()).count("unchanged") == 39
    assert pin_file_requests(service) == sent + 1
    assert gone["PinHash"] in {pin["PinHash"] for pin in all_pins(service)}


def test_a_rerun_of_overlapping_paths_reports_each_file_once(
    service: ServiceProcess, tmp_path: Path
) -> None:
    a = tmp_path / "a"
    files = _tree(a, 300)  # more than a page of rows
    (a / "sub").mkdir()
    (a / "sub" / "deep").write_bytes(b"deep file")
    args = (a, a / "sub", a, "--journal", tmp_path / "j", "--json")
    assert run_push(service, *args).returncode == 0
    sent = pin_file_requests(service)
    again = run_push(service, *args)
    assert again.returncode == 0, again.stderr
    outcomes = _outcomes(again.stdout)
    assert len(outcomes) == len(files) + 1
    assert set(outcomes.values()) == {"unchanged"}
    assert pin_file_requests(service) == sent


def _journal_of(tmp_path: Path, names: list[bytes]) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "rows.sqlite")
    conn.execute("CREATE TABLE dirs (id INTEGER PRIMARY KEY, path BLOB UNIQUE)")
    conn.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, dir INTEGER, name BLOB,"
                 " size INTEGER, UNIQUE (dir, name))")
    conn.execute("INSERT INTO dirs VALUES (1, ?)", (b"/d/",))
    conn.executemany("INSERT INTO files (dir, name, size) VALUES (1, ?, ?)",
                     [(name, i) for i, name in enumerate(names)])
    return conn


def test_rows_are_read_a_page_at_a_time_in_walk_order(tmp_path: Path) -> None:
    # Every other name is in the journal; names are bytes, not always UTF-8.
    names = [*sorted(f"n{i:04}".encode() for i in range(0, 1200, 2)), b"\xff\xfe"]
    conn = _journal_of(tmp_path, names)
    queries: list[str] = []
    conn.set_trace_callback(queries.append)
    flushed: list[int] = []
    rows = WalkRows(lambda: conn, "name, size", before_read=lambda: flushed.append(1), page=100)
    walked = sorted([f"n{i:04}".encode() for i in range(1200)] + [b"\xff\xfe"])
    found = {name: rows.find(b"/d/" + name) for name in walked}
    assert {n for n, row in found.items() if row is not None} == set(names)
    assert all(row[1] == names.index(n) for n, row in found.items() if row is not None)
    # 601 rows in pages of 100, and the directory's id: 8 queries, not 1,201.
    assert len(queries) == 8
    assert len(flushed) == 8  # the caller's pending writes go in before each read
    # Out of order, and after a drop: still the journal's answer, never a stale one.
    assert rows.find(b"/d/n0000") == (b"n0000", 0)
    rows.drop(b"/d/n0000")
    assert rows.find(b"/d/n0000") is None
    assert rows.find(b"/elsewhere/n0000") is None
    assert rows.find(b"/d/n0002") == (b"n0002", 1)
