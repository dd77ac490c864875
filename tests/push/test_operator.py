"""What an operator meets first (issue 14): mistakes found early, dry runs, dot-files, status."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import Journal
from bulkpin.unixfs import hash_bytes
from tests.support.cli import bulkpin as _bulkpin
from tests.support.push import all_pins, manifest, pin_file_requests, run_push
from tests.support.service import ServiceProcess


def test_a_missing_path_is_a_usage_error_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    proc = _bulkpin("push", tmp_path / "real", tmp_path / "nope")
    assert proc.returncode == 2
    assert "nope: no such file or directory" in proc.stderr
    # No service started (it would say so), no journal created.
    assert "local Decoo-compatible service" not in proc.stderr
    assert not list(Path(os.environ["HOME"]).glob(".local/state/bulkpin/journals/**/*.sqlite"))


def test_an_unwritable_manifest_is_found_before_the_first_upload(
    service: ServiceProcess, tmp_path: Path
) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f").write_bytes(b"1")
    proc = run_push(service, tmp_path / "t", "--manifest", tmp_path / "no-dir" / "m.jsonl")
    assert proc.returncode == 2
    assert "cannot write in" in proc.stderr
    assert all_pins(service) == []


def test_a_dry_run_says_what_the_push_would_send(service: ServiceProcess, tmp_path: Path) -> None:
    """After a push, one file edited, one added and one the account holds from elsewhere:
    the dry run reads the journal and lists the account, and says 2 would be sent.

    Before, it ignored both and said every file would be uploaded. The journal is
    left as it was, and nothing is sent.
    """
    tree, elsewhere = tmp_path / "t", tmp_path / "elsewhere"
    tree.mkdir()
    elsewhere.mkdir()
    (tree / "a").write_bytes(b"first")
    (tree / "b").write_bytes(b"second")
    (elsewhere / "x").write_bytes(b"already on the account")
    journal = tmp_path / "j.sqlite"
    assert run_push(service, tree, "--journal", journal).returncode == 0
    assert run_push(service, elsewhere, "--journal", tmp_path / "e.sqlite").returncode == 0
    (tree / "b").write_bytes(b"second, edited")
    (tree / "c").write_bytes(b"third, new")
    (tree / "x").write_bytes(b"already on the account")
    before = hashlib.sha256(journal.read_bytes()).hexdigest()
    uploads = pin_file_requests(service)
    proc = run_push(service, tree, "--journal", journal, "-n", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "dry run: would upload 2 file(s)" in proc.stderr
    assert "1 already on the account, 1 unchanged" in proc.stderr
    assert sorted(line for line in proc.stderr.splitlines() if line.startswith("would upload:")) \
        == ["would upload: t/b", "would upload: t/c"]
    assert "(left as it was)" in proc.stderr
    assert hashlib.sha256(journal.read_bytes()).hexdigest() == before
    assert pin_file_requests(service) == uploads
    # The real push then sends exactly those two.
    real = run_push(service, tree, "--journal", journal)
    assert real.returncode == 0, real.stderr
    assert pin_file_requests(service) == uploads + 2


def test_dot_files_are_pinned_and_left_out_ones_are_listed(
    service: ServiceProcess, tmp_path: Path
) -> None:
    tree = tmp_path / "t"
    (tree / ".git").mkdir(parents=True)
    files = {".env": b"A=1", ".DS_Store": b"\0\1", ".git/HEAD": b"ref: main", "f": b"data"}
    for name, data in files.items():
        (tree / name).write_bytes(data)
    out = tmp_path / "m.jsonl"
    proc = run_push(service, tree, "--journal", tmp_path / "j", "--manifest", out)
    assert proc.returncode == 0, proc.stderr
    assert {p["PinHash"] for p in all_pins(service)} == {hash_bytes(d).cid for d in files.values()}
    root = next(r for r in manifest(out) if r["kind"] == "root")
    listed = _bulkpin("cid", "-r", "--hidden", tree)
    assert listed.returncode == 0, listed.stderr
    cid = listed.stdout.split()[-2]
    assert root["cid"] == cid  # as `ipfs add -r --hidden`
    out2 = tmp_path / "m2.jsonl"
    proc = run_push(service, tree, "--journal", tmp_path / "j2", "--manifest", out2,
                    "--no-hidden")
    assert proc.returncode == 0, proc.stderr
    rows = {r["path"]: (r["status"], r["error"]) for r in manifest(out2) if r["kind"] == "file"}
    assert rows["t/.env"] == ("skipped", "left out: hidden (--no-hidden)")
    assert rows["t/.git"] == ("skipped", "left out: hidden (--no-hidden)")
    assert rows["t/f"][0] == "pinned"


def test_status_reads_a_journal_in_use_and_lists_journals(
    service: ServiceProcess, tmp_path: Path
) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"1")
    assert run_push(service, tree).returncode == 0
    listed = _bulkpin("status", "--json")
    assert listed.returncode == 0, listed.stderr
    (entry,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert entry["paths"] == [str(tree)]
    assert "(account " in entry["destination"]
    journal = Path(entry["journal"])
    with Journal(journal, profile_name="unixfs-v0-2015"):  # a push holds it
        proc = _bulkpin("status", tree, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["counts"]["pinned"] == 1
    assert report["journal"] == str(journal)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_named_endpoint_that_does_not_answer_stops_before_anything(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """``--endpoint`` naming a port where nothing listens: exit 2 before the journal is
    made, not an exit 0 through another Endpoint that only -v mentioned; with
    --failover, the run says which Endpoint it uses instead."""
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(3):
        (tree / f"f{i}").write_bytes(b"%d" % i)
    journal = tmp_path / "j.sqlite"
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    proc = run_push(service, tree, "--endpoint", nowhere, "--journal", journal)
    assert proc.returncode == 2, proc.stderr
    assert f"the Endpoint {nowhere} does not answer" in proc.stderr
    assert not journal.exists()
    wrong = run_push(service, tree, "--endpoint", "Narnia", "--journal", journal)
    assert wrong.returncode == 2
    assert "no Endpoint named 'Narnia'" in wrong.stderr
    assert pin_file_requests(service) == 0
    moved = run_push(service, tree, "--endpoint", nowhere, "--failover", "--journal", journal)
    assert moved.returncode == 0, moved.stderr
    assert f"the Endpoint {nowhere} does not answer; uploading through" in moved.stderr
    assert len(all_pins(service)) == 3


@pytest.mark.anyio
async def test_a_refused_connection_is_no_overload_signal(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """Connections refused by an Endpoint where nothing listens say nothing of load: the
    adaptive pool is not told of them (before, each halved --concurrency auto)."""
    path = tmp_path / "f"
    path.write_bytes(b"through failover")
    seen: list[int | None] = []
    credentials = load_credentials(profile=service.profile_path, env={})
    async with DecooClient(credentials, endpoint=f"http://127.0.0.1:{_closed_port()}",
                           failover=True, failover_after=1) as client:
        client.observer = lambda operation, seconds, status, size: seen.append(status)
        result = await client.pin_file(str(path))
    assert result.cid == hash_bytes(b"through failover").cid
    assert client.endpoint_selector.switches  # it did meet the refusal, and moved
    assert None not in seen, seen


def test_status_picks_the_journal_of_the_account_and_lists_every_kind(
    service_factory: Any, tmp_path: Path
) -> None:
    """Two destinations, one of them a run that failed before its first file: ``status
    PATH`` takes the journal with files; two with files: ``--profile`` picks one.
    The list of journals says which are pin journals, and a push's shard.

    Before, the empty journal made status refuse ("several destinations"), and
    --profile did not choose; pin journals were listed as push journals, with zeros.
    """
    first, second = service_factory(), service_factory()
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"1")
    assert run_push(first, tree).returncode == 0
    refused = tmp_path / "refused.toml"
    text = first.profile_path.read_text()
    bogus = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJl"
    refused.write_text("\n".join(f'api_key = "{bogus}"' if line.startswith("api_key") else line
                                 for line in text.splitlines()))
    refused.chmod(0o600)
    failed = _bulkpin("push", tree, "--profile", refused)
    assert failed.returncode == 2, failed.stderr
    one = _bulkpin("status", tree, "--json")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["counts"]["pinned"] == 1

    assert run_push(second, tree).returncode == 0
    both = _bulkpin("status", tree)
    assert both.returncode == 2
    assert "choose one with --profile or --journal" in both.stderr
    chosen = _bulkpin("status", tree, "--json", "--profile", second.profile_path)
    assert chosen.returncode == 0, chosen.stderr
    assert second.cloud_url in json.loads(chosen.stdout)["destination"]

    assert _bulkpin("pin", hash_bytes(b"1").cid, "--profile", first.profile_path).returncode == 0
    assert run_push(first, tree, "--shard", "0/2").returncode == 0
    listed = [json.loads(line) for line in _bulkpin("status", "--json").stdout.splitlines()]
    pins = [entry for entry in listed if entry["kind"] == "pin"]
    assert len(pins) == 1
    assert pins[0]["counts"] == {"pinned": 1}
    assert [entry["shard"] for entry in listed if entry["kind"] == "push"].count("0/2") == 1
