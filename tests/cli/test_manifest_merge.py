"""`bulkpin manifest merge` end to end: shard manifests in, one manifest and the tree's root out.

The shard manifests are made from ``bulkpin cid -r --json`` of a real tree
(its file records are what a push records: path, CID, size), split in two
and written as push writes them, JSON Lines or CSV; the merged root must equal
the root ``bulkpin cid -r`` printed. Pushing for real is tests/deploy's job.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIELDS = ("kind", "path", "size", "cid", "job_id", "status", "pin_date", "attempts", "error",
          "shard")


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bulkpin", *[str(a) for a in args]], cwd=cwd,
        capture_output=True, text=True, errors="surrogateescape", timeout=300, check=False,
    )


def _cid_tree(tree: Path, *profile: str) -> tuple[list[dict[str, Any]], str]:
    """The file rows a push of ``tree`` would record, and ``bulkpin cid -r``'s root."""
    proc = _run("cid", "-r", "--json", *profile, tree.name, cwd=tree.parent)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records[-1]["path"] == tree.name
    rows = [
        {"kind": "file", "path": r["path"], "size": r["size"], "cid": r["cid"],
         "job_id": f"job-{n}", "status": "pinned", "pin_date": "2025-01-01T00:00:00+00:00",
         "attempts": 1, "error": None}
        for n, r in enumerate(records) if r["kind"] == "file"
    ]
    return rows, records[-1]["cid"]


def _root_row(path: str, shard: str | None = None) -> dict[str, Any]:
    return {"kind": "root", "path": path, "size": None, "cid": None, "job_id": None,
            "status": "none", "pin_date": None, "attempts": 0,
            "error": "not computed: filters or --shard select part of the tree", "shard": shard}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows exactly as ``bulkpin push --manifest`` does, by the file's extension."""
    with path.open("w", encoding="utf-8", errors="surrogateescape", newline="") as f:
        if path.suffix == ".csv":
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
        else:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    return path


def _shards(tmp_path: Path, rows: list[dict[str, Any]], names: list[str]) -> list[Path]:
    """Split rows across shard manifests, each ending with push's "no root" row."""
    out = []
    for i, name in enumerate(names):
        share = rows[i :: len(names)]
        out.append(_write(tmp_path / name, [*share, _root_row("/data", f"{i}/{len(names)}")]))
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(errors="surrogateescape").splitlines()]


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "data"
    (tree / "photos" / "2024").mkdir(parents=True)
    (tree / "photos" / "2024" / "a.jpg").write_bytes(b"a" * 300_000)
    (tree / "photos" / "b.jpg").write_bytes(b"b" * 70_000)
    (tree / "empty.txt").write_bytes(b"")
    (tree / "docs").mkdir()
    (tree / "docs" / "readme").write_bytes(b"hello\n")
    (tree / "big.bin").write_bytes(os.urandom(1_200_000))
    return tree


def test_jsonl_and_csv_shards_merge_to_the_root_of_cid_r(tmp_path: Path) -> None:
    rows, root = _cid_tree(_tree(tmp_path))
    shards = _shards(tmp_path, rows, ["m-0.jsonl", "m-1.csv", "m-2.jsonl"])
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", *shards, "-o", out, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    merged = _jsonl(out)
    assert [r for r in merged if r["kind"] == "root"] == [merged[-1]]
    assert merged[-1]["cid"] == root
    assert merged[-1]["path"] == "/data"  # the PATH the shards were pushed from
    assert merged[-1]["status"] == "computed"
    # Every file row once, with its values as written (CSV numbers back to numbers).
    files = sorted((r for r in merged if r["kind"] == "file"), key=lambda r: r["path"])
    assert files == sorted(rows, key=lambda r: r["path"])
    summary = json.loads(proc.stdout)
    assert summary["files"] == len(rows)
    assert summary["roots"] == [{"path": "/data", "cid": root, "size": 1_570_006,
                                 "files": len(rows)}]


def test_a_merge_missing_a_shard_names_it_and_writes_no_root(tmp_path: Path) -> None:
    """Shards 0/3 and 2/3 without 1/3: the root of two thirds of the files is another
    tree's. Before, the merge printed it with exit 0."""
    rows, _ = _cid_tree(_tree(tmp_path))
    shards = _shards(tmp_path, rows, ["m-0.jsonl", "m-1.csv", "m-2.jsonl"])
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", shards[0], shards[2], "-o", out, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "shard(s) 1/3 missing" in proc.stderr
    assert [r for r in _jsonl(out) if r["kind"] == "root"] == []
    # Shards of different splits are not one tree's.
    other = _write(tmp_path / "other.jsonl", [_root_row("/data", "1/2")])
    clash = _run("manifest", "merge", shards[0], other, "-o", out, cwd=tmp_path)
    assert clash.returncode == 1
    assert "shards of different splits" in clash.stderr


def test_stdout_and_csv_output(tmp_path: Path) -> None:
    rows, root = _cid_tree(_tree(tmp_path))
    shards = _shards(tmp_path, rows, ["m-0.csv", "m-1.csv"])
    proc = _run("manifest", "merge", *shards, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["cid"] == root
    assert f"root {root} /data" in proc.stderr
    out = tmp_path / "merged.csv"
    assert _run("manifest", "merge", *shards, "-o", out, cwd=tmp_path).returncode == 0
    with out.open(newline="") as f:
        merged = list(csv.DictReader(f))
    assert merged[-1]["kind"] == "root"
    assert merged[-1]["cid"] == root
    assert len(merged) == len(rows) + 1


@pytest.mark.parametrize("profile", ["unixfs-v0-2015", "unixfs-v1-2025"])
def test_hamt_sized_directory(tmp_path: Path, profile: str) -> None:
    # 4,000 entries of 60-byte names: ~380 KiB of links by either profile's
    # estimate, past the 256 KiB threshold, so the directory is HAMT-sharded.
    tree = tmp_path / "data"
    (tree / "many").mkdir(parents=True)
    for n in range(4000):
        (tree / "many" / f"{n:06d}-{'x' * 53}").write_bytes(str(n % 7).encode())
    (tree / "other.txt").write_bytes(b"other")
    rows, root = _cid_tree(tree, "--cid-profile", profile)
    shards = _shards(tmp_path, rows, ["m-0.jsonl", "m-1.csv"])
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", "--cid-profile", profile, *shards, "-o", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _jsonl(out)[-1]["cid"] == root


def test_unicode_and_undecodable_names(tmp_path: Path) -> None:
    tree = tmp_path / "data"
    (tree / "café").mkdir(parents=True)
    (tree / "café" / "ñandú.txt").write_bytes(b"n")
    (tree / "日本語.txt").write_bytes(b"ja")
    raw = os.fsencode(tree) + b"/caf\xe9-latin1.bin"  # not UTF-8
    with open(raw, "wb") as f:
        f.write(b"latin-1 name")
    rows, root = _cid_tree(tree)
    assert any("\udce9" in r["path"] for r in rows)  # a surrogate escape, as push writes
    shards = _shards(tmp_path, rows, ["m-0.jsonl", "m-1.csv"])
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", *shards, "-o", out, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    merged = _jsonl(out)
    assert merged[-1]["cid"] == root
    paths = {os.fsencode(r["path"]) for r in merged if r["kind"] == "file"}
    assert b"data/caf\xe9-latin1.bin" in paths
    assert "data/café/ñandú.txt".encode() in paths


def test_conflicting_duplicate_path_names_both_files(tmp_path: Path) -> None:
    rows, _ = _cid_tree(_tree(tmp_path))
    other = dict(rows[0], cid=rows[1]["cid"])
    a = _write(tmp_path / "a.jsonl", rows)
    b = _write(tmp_path / "b.csv", [other])
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", a, b, "-o", out, cwd=tmp_path)
    assert proc.returncode == 1
    assert f"{rows[0]['path']}: {a}:1 and {b}:2 disagree" in proc.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".merged*"))  # no temporary file left


def test_agreeing_duplicates_are_kept_once(tmp_path: Path) -> None:
    rows, root = _cid_tree(_tree(tmp_path))
    # The same rows from another run (other job ids), and a manifest given twice.
    again = [dict(r, job_id="other", pin_date=None) for r in rows[:2]]
    a = _write(tmp_path / "a.jsonl", rows)
    b = _write(tmp_path / "b.csv", again)
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", a, b, a, "-o", out, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    merged = _jsonl(out)
    assert len(merged) == len(rows) + 1
    assert merged[-1]["cid"] == root
    assert json.loads(proc.stdout)["duplicates"] == len(rows) + 2


@pytest.mark.parametrize(("status", "cid"), [("failed", None), ("uploading", "keep"),
                                             ("discovered", None)])
def test_a_file_without_a_pinned_cid_gives_no_root(
    tmp_path: Path, status: str, cid: str | None
) -> None:
    rows, _ = _cid_tree(_tree(tmp_path))
    bad = rows[2]
    rows[2] = dict(bad, status=status, cid=bad["cid"] if cid else None,
                   error="connection reset" if status == "failed" else None)
    rows[3] = dict(rows[3], status="failed", cid=None)
    shards = _shards(tmp_path, rows, ["m-0.jsonl", "m-1.csv"])
    out = tmp_path / "merged.jsonl"
    proc = _run("manifest", "merge", *shards, "-o", out, cwd=tmp_path)
    assert proc.returncode == 1
    # Named: the first such path in input order (rows[2] is the first shard's 2nd row).
    assert f"no root CID: {bad['path']} (and 1 more) has no pinned CID (status {status}" \
        in proc.stderr
    merged = _jsonl(out)
    assert all(r["kind"] == "file" for r in merged)  # written, without a root row
    assert len(merged) == len(rows)


def test_a_skipped_symlink_gives_no_root(tmp_path: Path) -> None:
    rows, _ = _cid_tree(_tree(tmp_path))
    link = {"kind": "file", "path": "data/link", "size": 0, "cid": None, "job_id": None,
            "status": "skipped", "pin_date": None, "attempts": 0,
            "error": "symlink; not followed (use --follow-symlinks)"}
    # Every shard records the same skipped symlink: the rows agree, kept once.
    a = _write(tmp_path / "a.jsonl", [*rows[:3], link])
    b = _write(tmp_path / "b.csv", [*rows[3:], link])
    proc = _run("manifest", "merge", a, b, cwd=tmp_path)
    assert proc.returncode == 1
    assert "no root CID: data/link was skipped by push (symlink;" in proc.stderr
    assert "symlink target" in proc.stderr
    assert len(proc.stdout.splitlines()) == len(rows) + 1


def test_cids_of_another_profile_are_refused(tmp_path: Path) -> None:
    rows, _ = _cid_tree(_tree(tmp_path), "--cid-profile", "unixfs-v1-2025")
    a = _write(tmp_path / "a.jsonl", rows)
    proc = _run("manifest", "merge", a, cwd=tmp_path)
    assert proc.returncode == 1
    assert "was not made with CID profile unixfs-v0-2015" in proc.stderr


def test_usage_errors(tmp_path: Path) -> None:
    rows, _ = _cid_tree(_tree(tmp_path))
    a = _write(tmp_path / "a.jsonl", rows)
    assert _run("manifest", "merge", a, "--json", cwd=tmp_path).returncode == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "file", "path": "data/x"}\nnot json\n')
    proc = _run("manifest", "merge", bad, cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{bad}:2: not JSON" in proc.stderr
    txt = tmp_path / "m.txt"
    txt.write_text("")
    assert _run("manifest", "merge", txt, cwd=tmp_path).returncode == 2
