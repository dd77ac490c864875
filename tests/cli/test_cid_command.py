"""`bulkpin cid` end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bulkpin.unixfs import get_profile, hash_bytes


def _cid(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bulkpin", "cid", *args], cwd=cwd, capture_output=True, timeout=120,
        check=False,
    )


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    (root / "2024").mkdir(parents=True)
    (root / "2024" / "a.jpg").write_bytes(b"a" * 300_000)
    (root / "readme").write_bytes(b"hello\n")
    return root


def test_prints_added_lines_root_last(tmp_path: Path) -> None:
    _tree(tmp_path)
    proc = _cid("-r", "photos", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "photos/2024/a.jpg", "photos/2024", "photos/readme", "photos",
    ]
    assert lines[0] == f"added {hash_bytes(b'a' * 300_000).cid} photos/2024/a.jpg"
    assert all(line.startswith("added Qm") for line in lines)


def test_json_lines(tmp_path: Path) -> None:
    _tree(tmp_path)
    proc = _cid("-r", "--json", "photos", cwd=tmp_path)
    assert proc.returncode == 0
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records[-1]["path"] == "photos"
    assert records[-1]["size"] == 300_006
    assert records[0] == {
        "path": "photos/2024/a.jpg", "cid": hash_bytes(b"a" * 300_000).cid, "kind": "file",
        "size": 300_000, "tsize": hash_bytes(b"a" * 300_000).tsize,
    }


def test_profile_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"z" * 5000)
    v1 = _cid("--cid-profile", "unixfs-v1-2025", "f", cwd=tmp_path)
    v1_expected = hash_bytes(b"z" * 5000, get_profile("unixfs-v1-2025"))
    assert v1.stdout.decode().split()[1] == v1_expected.cid
    small = _cid("--chunk-size", "1000", "--raw-leaves", "f", cwd=tmp_path)
    expected = hash_bytes(b"z" * 5000, get_profile(chunk_size=1000, raw_leaves=True, cid_version=1))
    assert small.stdout.decode().split()[1] == expected.cid
    assert expected.cid.startswith("bafy")


def test_errors_go_to_stderr_and_the_rest_is_processed(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "pipe")
    proc = _cid("missing", "photos/readme", "photos", cwd=tmp_path)
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "missing: No such file or directory" in err
    assert "photos: is a directory (use -r" in err
    assert proc.stdout.decode().split()[2] == "readme"
    # With -r the FIFO is reported, never opened, and its directory gets no CID.
    proc = _cid("-r", "photos", cwd=tmp_path)
    assert proc.returncode == 1
    assert "photos/pipe: not a regular file" in proc.stderr.decode()
    printed = [line.split(" ", 2)[2] for line in proc.stdout.decode().splitlines()]
    assert "photos/2024" in printed
    assert "photos" not in printed


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _cid("--chunk-size", "0", "x", cwd=tmp_path).returncode == 2
    bad = _cid("--cid-profile", "bogus", "x", cwd=tmp_path)
    assert bad.returncode == 2
    assert b"bogus" in bad.stderr
    assert _cid(cwd=tmp_path).returncode == 2
    too_big = _cid("--chunk-size", str(4 << 20), "x", cwd=tmp_path)
    assert too_big.returncode == 2
    assert b"chunk size" in too_big.stderr
