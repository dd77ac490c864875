"""Runs at once to one account upload each content once (issue 25, item 3).

Two scenarios, each against ``bulkpin serve``, counting the service's
``duplicate_jobs`` (jobs beyond one per CID): two trees sharing every content
pushed at the same time, and ``--shard 0/2`` beside ``--shard 1/2`` on a tree
whose every file has a copy under another name. ``--rate-limit`` stretches each
run over a few seconds so the two overlap on any machine (a slower one only
overlaps them more). On main both made a duplicate job for most contents.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.reliability.helpers import KiB, killed, push_env, start
from tests.support.push import all_pins, manifest
from tests.support.service import ServiceProcess
from tests.unixfs.content import content

#: Contents per scenario; the target is at most 2% of them as duplicate jobs.
CONTENTS = 60
#: Uploads per second per run: 60 contents take each run about 3 s.
RATE = "20"


def _write(root: Path, names: list[str], seed: str) -> None:
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Sizes spread, including one over --small-file (streamed, CID unknown
        # before it is sent).
        size = 2 * 1024 * KiB if i == 0 else 100 + 997 * i
        path.write_bytes(content(f"{seed}:{i}", size))


def _two_trees(tmp_path: Path) -> None:
    """``one`` and ``two``: the same contents under other names."""
    names = [f"d{i % 3}/f{i:03}.bin" for i in range(CONTENTS)]
    _write(tmp_path / "one", names, "shared")
    _write(tmp_path / "two", [f"other/{n}" for n in names], "shared")


def _both(service: ServiceProcess, tmp_path: Path,
          runs: list[tuple[str, list[str | Path]]],
          env_of: dict[str, dict[str, str]] | None = None) -> list[list[dict[str, object]]]:
    """Start every run at once, wait for all; each one's manifest rows.

    ``env_of``: run name -> more environment; one with ``BULKPIN_CRASH_AT`` is
    to be killed (and has no manifest).
    """
    env_of = env_of or {}
    procs: list[tuple[bool, subprocess.Popen[str], Path]] = []
    for name, args in runs:
        out = tmp_path / f"{name}.jsonl"
        extra = env_of.get(name, {})
        procs.append(("BULKPIN_CRASH_AT" in extra, start(
            "--profile", service.profile_path, "--rate-limit", RATE, "--manifest", out, "-q",
            *args, env=push_env(**extra)), out))
    rows: list[list[dict[str, object]]] = []
    for crashes, proc, out in procs:
        _, err = proc.communicate(timeout=300)
        if crashes:
            assert killed(proc), err
            rows.append([])
        else:
            assert proc.returncode == 0, err
            rows.append(manifest(out))
    return rows


def _pinned(rows: list[dict[str, object]]) -> dict[str, str]:
    return {str(r["path"]): str(r["cid"]) for r in rows
            if r.get("kind", "file") == "file" and r["status"] == "pinned"}


def _each_pinned_once(service: ServiceProcess, *runs: list[dict[str, object]],
                      files: int) -> None:
    """Every file of every run pinned, the account holds each, few duplicate jobs."""
    pinned: dict[str, str] = {}
    for rows in runs:
        pinned |= _pinned(rows)
    assert len(pinned) == files
    assert len(set(pinned.values())) == CONTENTS
    assert set(pinned.values()) <= {p["PinHash"] for p in all_pins(service)}
    dup = service.stats()["duplicate_jobs"]
    print(f"duplicate jobs {dup} for {CONTENTS} contents")
    assert dup <= CONTENTS * 0.02


def test_two_trees_sharing_every_content_pushed_at_once(service: ServiceProcess,
                                                        tmp_path: Path) -> None:
    _two_trees(tmp_path)
    one, two = _both(service, tmp_path, [("one", [tmp_path / "one"]),
                                         ("two", [tmp_path / "two"])])
    assert set(_pinned(one).values()) == set(_pinned(two).values())
    _each_pinned_once(service, one, two, files=2 * CONTENTS)


@pytest.mark.parametrize("machines", [1, 2], ids=["one-machine", "two-machines"])
def test_two_shards_of_a_tree_of_copies_run_at_once(service: ServiceProcess, tmp_path: Path,
                                                    machines: int) -> None:
    """On two machines (here: two homes, so no claims file in common) too: every
    copy of a content is one shard's."""
    tree = tmp_path / "tree"
    names = [f"a/f{i:03}.bin" for i in range(CONTENTS)]
    _write(tree, names, "copies")
    _write(tree, [f"b/copy-of-{i:03}.bin" for i in range(CONTENTS)], "copies")
    journal = tmp_path / "journals"
    homes = {f"s{i}": {"XDG_STATE_HOME": str(tmp_path / f"state-{i}")} for i in range(machines)}
    shard0, shard1 = _both(service, tmp_path, [
        ("s0", ["--shard", "0/2", "--journal", journal / "s0.sqlite", tree]),
        ("s1", ["--shard", "1/2", "--journal", journal / "s1.sqlite", tree]),
    ], homes if machines > 1 else None)
    _each_pinned_once(service, shard0, shard1, files=2 * CONTENTS)


def test_kill_9_of_either_run_then_resume_loses_and_repeats_nothing(
        service: ServiceProcess, tmp_path: Path) -> None:
    """One run killed while sending (its claim dies with it), the other once it has
    waited on claims; both resumed at once: every file pinned, each content sent once."""
    _two_trees(tmp_path)
    runs: list[tuple[str, list[str | Path]]] = [("one", [tmp_path / "one"]),
                                                ("two", [tmp_path / "two"])]
    _both(service, tmp_path, runs, {"one": {"BULKPIN_CRASH_AT": "sending:20"},
                                    "two": {"BULKPIN_CRASH_AT": "polling:12"}})
    one, two = _both(service, tmp_path, runs)
    _each_pinned_once(service, one, two, files=2 * CONTENTS)
