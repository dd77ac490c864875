"""``bulkpin pin`` from a CID file, stdin and arguments; sharding; kill -9 and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.push import manifest
from tests.support.service import ServiceProcess

from .helpers import (
    Source,
    assert_migrated,
    dest_pins,
    requests_of,
    run_pin,
    run_pin_subprocess,
)

#: Bad lines mixed into the CID file, by the line number they land on.
BAD = {3: "not-a-cid", 7: "/ipfs/QmInvalid", 12: "/ipns/example.com"}


def cid_file(path: Path, pins: dict[str, str]) -> Path:
    """Every CID with its name, the bad lines at their numbers, a comment and a blank."""
    good = iter(sorted(pins.items()))
    lines = ["# exported CIDs", ""]
    number = len(lines)
    for cid, name in good:
        number += 1
        while number in BAD:
            lines.append(BAD[number])
            number += 1
        lines.append(f"{cid} {name}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_cid_file_with_bad_lines_pins_the_good_ones_and_exits_1(
    source: Source, dest: ServiceProcess, tmp_path: Path,
) -> None:
    listing = cid_file(tmp_path / "cids.txt", source.pins)
    out = tmp_path / "m.jsonl"
    run = run_pin(dest, "--from", listing, "--manifest", out)
    assert run.returncode == 1, run.stderr
    for number, text in BAD.items():
        assert f"{listing}:{number}" in run.stderr, run.stderr
        assert text in run.stderr
    assert "3 line(s) of the source are no CID" in run.stderr
    assert_migrated(dest, source.pins)
    rows = manifest(out)
    bad = [r for r in rows if r["kind"] == "bad_line"]
    assert sorted(r["origin"] for r in bad) == sorted(f"{listing}:{n}" for n in BAD)
    assert all(r["status"] == "failed" and r["error"] for r in bad)
    pins = [r for r in rows if r["kind"] == "pin"]
    assert {r["cid"]: r["name"] for r in pins} == source.pins
    # Each CID's origin is its line.
    assert all(r["origin"].startswith(f"{listing}:") for r in pins)


def test_stdin_is_a_source(source: Source, dest: ServiceProcess) -> None:
    text = "".join(f"{cid} {name}\n" for cid, name in source.pins.items())
    run = run_pin(dest, "--from", "-", stdin=text.encode())
    assert run.returncode == 0, run.stderr
    assert_migrated(dest, source.pins)
    # Resumed with the same input: nothing is requested again.
    again = run_pin(dest, "--from", "-", stdin=text.encode())
    assert again.returncode == 0, again.stderr
    assert requests_of(dest, "pinByHash") == len(source.pins)


def test_cids_as_arguments_normalised(source: Source, dest: ServiceProcess) -> None:
    cids = sorted(source.pins)[:3]
    run = run_pin(dest, f"/ipfs/{cids[0]}", f"ipfs://{cids[1]}", cids[2], cids[2], "--json")
    assert run.returncode == 0, run.stderr
    assert set(dest_pins(dest)) == set(cids)
    assert requests_of(dest, "pinByHash") == 3


def test_three_shards_are_disjoint_and_cover_the_source(
    source: Source, dest: ServiceProcess, tmp_path: Path,
) -> None:
    taken: list[set[str]] = []
    for index in range(3):
        out = tmp_path / f"shard-{index}.jsonl"
        run = run_pin(dest, "--from", source.psa, "--from-token-env", "SRC_TOKEN",
                      "--shard", f"{index}/3", "--manifest", out, token=source.token)
        assert run.returncode == 0, run.stderr
        taken.append({r["cid"] for r in manifest(out)})
    assert all(taken)
    assert sum(len(t) for t in taken) == len(set().union(*taken))  # disjoint
    assert taken[0] | taken[1] | taken[2] == set(source.pins)
    assert_migrated(dest, source.pins)
    assert requests_of(dest, "pinByHash") == len(source.pins)


@pytest.mark.parametrize(
    ("crash_at", "listing"),
    [("after_answer:40", "--account-listing"), ("commit:3", "--account-listing"),
     ("polling:1", "--account-listing"),
     # Without the account index, CIDs that may have been sent are looked up
     # one by one with pinJobs?pin-hash= before being requested again.
     ("after_answer:40", "--no-account-listing")],
)
def test_kill_9_mid_run_then_resume_makes_no_duplicate_job(
    source: Source, dest: ServiceProcess, tmp_path: Path, crash_at: str, listing: str,
) -> None:
    out = tmp_path / "m.jsonl"
    args = ("--from", source.psa, "--from-token-env", "SRC_TOKEN", "--manifest", out, listing)
    killed = run_pin_subprocess(dest, *args, token=source.token,
                                env={"BULKPIN_CRASH_AT": crash_at})
    assert killed.returncode == -9, killed.stderr
    resumed = run_pin(dest, *args, "--json", token=source.token)
    assert resumed.returncode == 0, resumed.stderr
    assert_migrated(dest, source.pins)
    assert {r["cid"] for r in manifest(out)} == set(source.pins)
    summary = json.loads(resumed.stdout.splitlines()[-1])
    assert summary["counts"]["pinned"] == len(source.pins)


def test_a_dry_run_lists_and_checks_but_sends_nothing(
    source: Source, dest: ServiceProcess, tmp_path: Path,
) -> None:
    listing = cid_file(tmp_path / "cids.txt", source.pins)
    run = run_pin(dest, "--from", listing, "--dry-run", "--json")
    assert run.returncode == 1, run.stderr  # the bad lines still count
    events = [json.loads(line) for line in run.stdout.splitlines()]
    planned = {e["cid"] for e in events if e["event"] == "pin" and e["outcome"] == "planned"}
    assert planned == set(source.pins)
    assert sorted(e["line"] for e in events if e["event"] == "bad_line") == sorted(BAD)
    assert "pinByHash" not in dest.stats()["requests"]
