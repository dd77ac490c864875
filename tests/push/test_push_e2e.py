"""``bulkpin push`` end to end against ``bulkpin serve`` on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from bulkpin.push import Journal
from bulkpin.unixfs import hash_bytes
from tests.support.push import (
    all_jobs,
    all_pins,
    env_without_settings,
    manifest,
    pin_file_requests,
    push_command,
    run_push,
)
from tests.support.service import ServiceProcess
from tests.unixfs.content import content

KiB, MiB = 1024, 1024 * 1024


def make_tree(root: Path) -> dict[bytes, bytes]:
    """A tree with the awkward cases; returns display path -> content for regular files."""
    files: dict[bytes, bytes] = {}

    def put(rel: str | bytes, data: bytes) -> None:
        path = os.path.join(os.fsencode(root), os.fsencode(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        files[os.fsencode(root.name) + b"/" + os.fsencode(rel)] = data

    put("empty", b"")
    put("one", b"1")
    for n in (256 * KiB - 1, 256 * KiB, 256 * KiB + 1):
        put(f"edge/{n}.bin", content(f"edge{n}", n))
    put("big/a.bin", content("big-a", 3 * MiB + 5))
    put("big/b.bin", content("big-b", 2 * MiB))
    put("big/copy-of-a.bin", content("big-a", 3 * MiB + 5))  # a duplicate streamed file
    put("docs/café/naïve.txt", b"unicode")
    put(b"latin/caf\xe9.txt", b"not utf-8")
    put("dup1.txt", b"same bytes")
    put("nested/deeper/dup2.txt", b"same bytes")
    (root / "empty-dir" / "inner").mkdir(parents=True)
    (root / "link").symlink_to("one")
    os.mkfifo(root / "fifo")
    return files


def _by_path(rows: list[dict[str, object]]) -> dict[bytes, dict[str, object]]:
    return {os.fsencode(str(r["path"])): r for r in rows if r["kind"] == "file"}


def test_push_pins_every_file_once_and_a_rerun_sends_nothing(
    service: ServiceProcess, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    files = make_tree(tree)
    journal, out = tmp_path / "j.sqlite", tmp_path / "m.jsonl"
    proc = run_push(service, tree, "--journal", journal, "--manifest", out)
    assert proc.returncode == 0, proc.stderr

    rows = _by_path(manifest(out))
    for display, data in files.items():
        row = rows[display]
        assert row["status"] == "pinned", (display, row)
        assert row["cid"] == hash_bytes(data).cid
        assert row["size"] == len(data)
    assert rows[b"tree/fifo"]["status"] == "skipped"
    assert rows[b"tree/link"]["status"] == "skipped"
    # The root CID is what `bulkpin cid -r` gives (the FIFO makes it fail, honestly).
    root_rows = [r for r in manifest(out) if r["kind"] == "root"]
    assert len(root_rows) == 1
    assert root_rows[0]["cid"] is None
    assert "fifo" in str(root_rows[0]["error"])

    # The service holds each distinct content once, with the right size.
    pins = all_pins(service)
    expected = {hash_bytes(d).cid: len(d) for d in files.values()}
    assert {p["PinHash"]: int(p["PinSize"]) for p in pins} == expected
    assert len(pins) == len(expected)
    stats = service.stats()
    assert stats["duplicate_jobs"] == 0
    assert pin_file_requests(service) == len(expected)
    assert all(j["Status"] == "pinned" for j in all_jobs(service))

    before = pin_file_requests(service)
    again = run_push(service, tree, "--journal", journal, "--json")
    assert again.returncode == 0, again.stderr
    assert pin_file_requests(service) == before
    assert '"outcome": "unchanged"' in again.stdout


def test_root_cid_matches_bulkpin_cid(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "photos"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "x.jpg").write_bytes(content("x", 300 * KiB))
    (tree / "big.raw").write_bytes(content("y", 2 * MiB + 3))
    (tree / "empty").mkdir()
    out = tmp_path / "m.jsonl"
    proc = run_push(service, tree, "--journal", tmp_path / "j", "--manifest", out)
    assert proc.returncode == 0, proc.stderr
    cid = subprocess.run(
        [*push_command(None)[:3], "cid", "-r", str(tree)], capture_output=True, text=True,
        check=True,
    ).stdout.splitlines()[-1].split()[1]
    roots = [r for r in manifest(out) if r["kind"] == "root"]
    assert roots[0]["cid"] == cid


def test_dry_run_sends_nothing(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"data")
    out = tmp_path / "m.csv"
    proc = run_push(service, tree, "--dry-run", "--journal", tmp_path / "j", "--manifest", out)
    assert proc.returncode == 0, proc.stderr
    assert pin_file_requests(service) == 0
    assert hash_bytes(b"data").cid in out.read_text()


def test_shards_split_the_tree(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(60):
        (tree / f"f{i}").write_bytes(b"%d" % i)
    seen: list[str] = []
    for i in range(3):
        out = tmp_path / f"m{i}.jsonl"
        proc = run_push(None, tree, "--dry-run", "--shard", f"{i}/3", "--journal",
                        tmp_path / f"j{i}", "--manifest", out)
        assert proc.returncode == 0, proc.stderr
        paths = [str(r["path"]) for r in manifest(out) if r["kind"] == "file"]
        assert 0 < len(paths) < 60
        # The root row says which share it is, for `manifest merge`.
        assert [r["shard"] for r in manifest(out) if r["kind"] == "root"] == [f"{i}/3"]
        seen += paths
    assert sorted(seen) == sorted(f"t/f{i}" for i in range(60))


def _interrupted_then_resumed(service: ServiceProcess, tmp_path: Path, sig: int) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(40):
        (tree / f"f{i:02}").write_bytes(content(f"f{i}", 2000 + i))
    journal, out = tmp_path / "j.sqlite", tmp_path / "m.jsonl"
    proc = subprocess.Popen(
        push_command(service, tree, "--journal", journal, "--concurrency", "2", "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    uploaded = 0
    for line in proc.stdout:  # stop it once some files are through, mid-run
        if '"outcome": "uploaded"' in line:
            uploaded += 1
            if uploaded == 5:
                proc.send_signal(sig)
                break
    proc.communicate(timeout=60)
    assert proc.returncode in (3, -signal.SIGKILL), proc.returncode
    resumed = run_push(service, tree, "--journal", journal, "--manifest", out)
    assert resumed.returncode == 0, resumed.stderr
    rows = [r for r in manifest(out) if r["kind"] == "file"]
    assert len(rows) == 40
    assert all(r["status"] == "pinned" for r in rows)
    assert service.stats()["duplicate_jobs"] == 0
    assert len({p["PinHash"] for p in all_pins(service)}) == 40


def test_sigint_then_resume_completes_without_duplicates(
    service_factory: object, tmp_path: Path
) -> None:
    svc = service_factory("--faults", "pinFile:slow=0.2", "--fault-seed", "3")  # type: ignore[operator]
    _interrupted_then_resumed(svc, tmp_path, signal.SIGINT)


def test_kill9_then_resume_completes_without_duplicates(
    service_factory: object, tmp_path: Path
) -> None:
    svc = service_factory("--faults", "pinFile:slow=0.2", "--fault-seed", "4")  # type: ignore[operator]
    _interrupted_then_resumed(svc, tmp_path, signal.SIGKILL)


def test_second_run_on_a_journal_is_refused(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"x")
    with Journal(tmp_path / "j", profile_name="unixfs-v0-2015"):
        proc = run_push(service, tree, "--journal", tmp_path / "j")
    assert proc.returncode == 2
    assert "another bulkpin run" in proc.stderr


def test_embedded_default_needs_no_account(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "hello.txt").write_bytes(b"hello\n")
    env = env_without_settings()
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["HOME"] = str(tmp_path / "home")
    proc = subprocess.run(push_command(None, tree), capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "No Decoo account configured: using the local Decoo-compatible service" in proc.stderr
    assert (tmp_path / "data" / "bulkpin" / "service" / "profile.toml").exists()
    # The pin outlives the run: the next run finds it unchanged.
    again = subprocess.run(push_command(None, tree, "--json"), capture_output=True, text=True,
                           env=env, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert '"outcome": "unchanged"' in again.stdout


def test_unreadable_file_is_reported_and_the_rest_goes_on(
    service: ServiceProcess, tmp_path: Path
) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "ok").write_bytes(b"fine")
    secret = tree / "secret"
    secret.write_bytes(b"no")
    secret.chmod(0)
    out = tmp_path / "m.jsonl"
    proc = run_push(service, tree, "--journal", tmp_path / "j", "--manifest", out)
    rows = _by_path(manifest(out))
    assert rows[b"t/ok"]["status"] == "pinned"
    if os.geteuid() == 0:  # root reads anything: the file is simply pinned
        assert proc.returncode == 0
        assert rows[b"t/secret"]["status"] == "pinned"
    else:
        assert proc.returncode == 1
        assert rows[b"t/secret"]["status"] == "failed"
        assert "Permission denied" in str(rows[b"t/secret"]["error"])


def test_unix_socket_in_tree_is_skipped(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"f")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tree / "s"))
    try:
        out = tmp_path / "m.jsonl"
        proc = run_push(service, tree, "--journal", tmp_path / "j", "--manifest", out)
    finally:
        sock.close()
    assert proc.returncode == 0, proc.stderr
    assert _by_path(manifest(out))[b"t/s"]["status"] == "skipped"


def test_wait_for_queued_jobs(service_factory: object, tmp_path: Path) -> None:
    svc = service_factory("--job-delay", "1.0")  # type: ignore[operator]
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(5):
        (tree / f"f{i}").write_bytes(b"%d" % i)
    proc = run_push(svc, tree, "--journal", tmp_path / "j", "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"outcome": "uploaded"' in proc.stdout
    # push returned only once every job was final: nothing is left queued.
    assert [j["Status"] for j in all_jobs(svc)] == ["pinned"] * 5


def test_no_wait_then_status_wait(service_factory: object, tmp_path: Path) -> None:
    svc = service_factory("--job-delay", "1.5")  # type: ignore[operator]
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(4):
        (tree / f"g{i}").write_bytes(b"g%d" % i)
    journal = tmp_path / "j"
    proc = run_push(svc, tree, "--journal", journal, "--no-wait")
    assert proc.returncode == 0, proc.stderr
    status = subprocess.run(
        [*push_command(None)[:3], "status", "--journal", str(journal)],
        capture_output=True, text=True, check=False,
    )
    assert status.returncode == 3  # uploaded, jobs not final yet
    waited = subprocess.run(
        [*push_command(None)[:3], "status", "--journal", str(journal), "--wait",
         "--profile", str(svc.profile_path)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert waited.returncode == 0, waited.stderr
    assert ["pinned", "4"] in [line.split() for line in waited.stdout.splitlines()]


def test_configuration_error_mid_run_stops_at_once(
    service: ServiceProcess, tmp_path: Path
) -> None:
    # The Endpoint is chosen on the first upload, so the error arrives mid-run.
    # It is a configuration error: no file can go through, and waiting out the
    # patience (an hour here; the subprocess guard is far shorter) helps nobody.
    tree = tmp_path / "t"
    tree.mkdir()
    for name in ("a", "b", "c"):
        (tree / name).write_bytes(name.encode() * 1000)
    proc = run_push(service, tree, "--endpoint", "nosuch", "--patience", "3600",
                    "--journal", tmp_path / "j", timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "no Endpoint named 'nosuch'" in proc.stderr
    with Journal(tmp_path / "j", profile_name="unixfs-v0-2015") as journal:
        assert journal.counts()["pinned"] == 0
