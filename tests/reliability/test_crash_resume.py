"""Crash and resume: ``kill -9`` at the five named points and at random instants, then resume.

Each case gets its own account on one shared service, and its own tree whose
contents no other case has, so "one job per CID" is checked per account and,
through ``duplicate_jobs``, across the whole service. Crash runs go a few at a
time (they wait on the network more than on the CPU).

Figure (issue 7, item 2): every case ends with every file pinned under its
local CID, no CID with a second job, the manifest agreeing with ``pinList``
and ``PRAGMA integrity_check`` = ok, after the crash as well as at the end.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess

from .helpers import (
    SOAK,
    KiB,
    MiB,
    Tree,
    assert_complete,
    figure,
    integrity,
    killed,
    make_tree,
    new_accounts,
    push_env,
    run,
    seed,
    start,
)

#: The N-th passage at which each point kills: three "seeds" per point, all reachable
#: in a tree of this size (a run polls at least four pinJobs pages).
POINTS = {
    "walk": (1, 10, 30),
    "after_send": (1, 5, 15),
    "after_answer": (1, 5, 15),
    "commit": (1, 3, 8),
    "polling": (1, 2, 4),
}
CASES = [f"{point}:{n}" for point, ns in POINTS.items() for n in ns]
FILES = 200 if SOAK else 30
RANDOM_KILLS = 20 if SOAK else 3
PARALLEL = 6


@dataclass
class Case:
    """One crash case: its tree, account, files, and what each run did."""

    name: str
    tree: Tree
    profile: Path
    journal: Path
    manifest: Path
    runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    after_crash: str = ""

    def push(self, *extra: str, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
        return run("--profile", self.profile, self.tree.root, "--journal", self.journal,
                   "--concurrency", "4", *extra, env=env)


def _crash_then_resume(case: Case) -> None:
    crash = case.push(env=push_env(BULKPIN_CRASH_AT=case.name))
    case.runs.append(crash)
    case.after_crash = integrity(case.journal) if case.journal.exists() else "no journal"
    case.runs.append(case.push("--manifest", str(case.manifest)))


@pytest.fixture(scope="module")
def crashes(shared: ServiceProcess, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[tuple[dict[str, Case], Future[None]]]:
    """Every named-point case, and the random kills, run a few at a time."""
    base = tmp_path_factory.mktemp("crash")
    profiles = new_accounts(shared, *(f"crash{i}" for i in range(len(CASES))), "random-kills")
    cases: dict[str, Case] = {}
    for name, profile in zip(CASES, profiles, strict=False):
        slug = name.replace(":", "-")
        tree = make_tree(base / slug / "tree", files=FILES, largest=300 * KiB,
                         big=[2 * MiB + 7], name=f"crash-{slug}", duplicates=2)
        cases[name] = Case(name, tree, profile, base / slug / "journal.sqlite",
                           base / slug / "manifest.jsonl")
    with ThreadPoolExecutor(PARALLEL) as pool:
        kills = pool.submit(_random_kills, shared, profiles[-1], base / "random-kills")
        list(pool.map(_crash_then_resume, cases.values()))
        yield cases, kills


@pytest.mark.parametrize("name", CASES)
def test_kill9_at_a_named_point_then_resume(
    crashes: tuple[dict[str, Case], Future[None]], shared: ServiceProcess, name: str
) -> None:
    case = crashes[0][name]
    crash, resume = case.runs
    assert killed(crash), f"{name} was not reached: exit {crash.returncode}\n{crash.stderr[-2000:]}"
    assert case.after_crash == "ok"
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert_complete(shared, case.tree, case.manifest, journal=case.journal, profile=case.profile)


def _random_kills(shared: ServiceProcess, profile: Path, base: Path) -> None:
    rng = random.Random(seed("random-kills"))
    rate = 2 * MiB
    delays = [rng.uniform(0.3, 2.5) for _ in range(RANDOM_KILLS)]
    # Twice what the runs can send in the time they get (a run sends at most its
    # time's worth, plus the one file the pacer lets go ahead): none can finish.
    budget = 2 * int(sum(delays) * rate) + RANDOM_KILLS * rate
    tree = make_tree(base / "tree", files=FILES, largest=300 * KiB,
                     big=[budget // 8] * 8, name="random-kills", duplicates=3)
    journal, out = base / "journal.sqlite", base / "manifest.jsonl"
    args = ("--profile", profile, tree.root, "--journal", journal)
    for delay in delays:
        proc = start(*args, "--bwlimit", str(rate), stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.communicate(timeout=60)
        assert killed(proc), f"the run ended before its kill: exit {proc.returncode}"
        if journal.exists():
            assert integrity(journal) == "ok"
    resume = run(*args, "--manifest", out)
    assert resume.returncode == 0, resume.stderr[-3000:]
    assert_complete(shared, tree, out, journal=journal, profile=profile)
    figure(f"random kills: {RANDOM_KILLS} kill -9 at seeded instants in {sum(delays):.1f} s"
           f" of runs, then one resume: {len(tree.cids)} files pinned, journal ok")


def test_kill9_at_random_instants_then_resume(
    crashes: tuple[dict[str, Case], Future[None]],
) -> None:
    """Kills at seeded random instants, one after another on one journal, then a resume.

    ``--bwlimit`` keeps each killed run from finishing the tree before its kill
    lands, whatever the machine's speed (a slower machine only does less).
    """
    crashes[1].result()


def test_no_cid_got_a_second_job_anywhere(
    crashes: tuple[dict[str, Case], Future[None]], shared: ServiceProcess
) -> None:
    crashes[1].result()
    assert all(len(case.runs) == 2 for case in crashes[0].values())
    assert shared.stats()["duplicate_jobs"] == 0
    figure(f"crash points: {len(CASES)} kill -9 (5 points x 3 N), each resumed: all pinned,"
           f" integrity ok, duplicate_jobs 0")
