"""The conventions users of rclone and aws s3 look for (issue 14)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.support.push import manifest, run_push
from tests.support.service import ServiceProcess


def test_quiet_prints_only_the_final_line(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"1")
    proc = run_push(service, tree, "-q")
    assert proc.returncode == 0
    assert proc.stderr.strip() == "done (exit status 0)"
    assert proc.stdout == ""


def test_json_log_file(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"1")
    log = tmp_path / "push.log"
    proc = run_push(service, tree, "-vv", "--log-file", log, "--log-format", "json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records
    assert {"time", "level", "logger", "message"} <= records[0].keys()
    assert any(r["level"] == "debug" for r in records)
    conf = (service.profile_path).read_text()
    api_key = conf.split('api_key = "')[1].split('"')[0]
    assert api_key not in log.read_text()  # the redacting filter is on the handler


def test_exclude_from_and_ages(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    for name in ("keep", "old", "skip.tmp"):
        (tree / name).write_bytes(name.encode())
    week_ago = time.time() - 8 * 86400
    os.utime(tree / "old", (week_ago, week_ago))
    patterns = tmp_path / "excludes"
    patterns.write_text("# temporary files\n*.tmp\n\n")
    out = tmp_path / "m.jsonl"
    proc = run_push(service, tree, "--exclude-from", patterns, "--max-age", "7d",
                    "--manifest", out)
    assert proc.returncode == 0, proc.stderr
    rows = {r["path"]: (r["status"], r["error"]) for r in manifest(out) if r["kind"] == "file"}
    assert rows["t/keep"][0] == "pinned"
    assert rows["t/skip.tmp"] == ("skipped", "left out: matches --exclude")
    assert rows["t/old"] == ("skipped", "left out: modified more than --max-age 604800 s ago")


def test_a_profile_by_name(service: ServiceProcess, tmp_path: Path) -> None:
    profiles = Path(os.environ["XDG_CONFIG_HOME"]) / "bulkpin" / "profiles"
    profiles.mkdir(parents=True)
    shutil.copy(service.profile_path, profiles / "work.toml")
    (profiles / "work.toml").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "BULKPIN_PROFILE"}
    proc = subprocess.run([sys.executable, "-m", "bulkpin", "ls", "--profile", "work"],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    env["BULKPIN_PROFILE"] = "work"
    proc = subprocess.run([sys.executable, "-m", "bulkpin", "jobs"], capture_output=True,
                          text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "local Decoo-compatible service" not in proc.stderr  # the named account, not embedded


def test_a_profile_name_that_is_nowhere_names_both_places(tmp_path: Path) -> None:
    """``--profile work`` with no such file or named profile said "cannot read profile
    work", naming neither place it looked (issue 26 item 8)."""
    env = {k: v for k, v in os.environ.items() if k != "BULKPIN_PROFILE"}
    proc = subprocess.run([sys.executable, "-m", "bulkpin", "ls", "--profile", "work"],
                          capture_output=True, text=True, timeout=60, env=env, check=False,
                          cwd=tmp_path)
    assert proc.returncode == 2
    named = Path(os.environ["XDG_CONFIG_HOME"]) / "bulkpin" / "profiles" / "work.toml"
    assert f"neither a file work here nor {named}" in proc.stderr
