"""deploy/slurm cannot drift from the CLI: run the batch script natively for every array task.

No Slurm here: the script runs under bash with the variables Slurm would set
(``SLURM_ARRAY_TASK_ID`` and friends) for each index of its ``--array``, with
``bulkpin`` on PATH and a profile of a real ``bulkpin serve`` account.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.deploy.native import (
    ROOT,
    base_env,
    check_pinned,
    check_shards,
    cid_tree,
    make_tree,
    merged_root,
)
from tests.support.service import ServiceProcess

SCRIPT = ROOT / "deploy" / "slurm" / "bulkpin-array.sbatch"
TEXT = SCRIPT.read_text()


def _sbatch(option: str) -> str:
    match = re.search(rf"^#SBATCH --{option}=(\S+)", TEXT, re.MULTILINE)
    assert match, f"no #SBATCH --{option}"
    return match[1]


def _indexes() -> list[int]:
    first, last = _sbatch("array").split("-")
    return list(range(int(first), int(last) + 1))


def test_script_shape() -> None:
    shards = re.search(r"^SHARDS=(\d+)$", TEXT, re.MULTILINE)
    assert shards, "no SHARDS="
    assert _indexes() == list(range(int(shards[1]))), "--array and SHARDS disagree"
    # exec: the batch shell becomes bulkpin, so --signal=B:TERM reaches push itself.
    assert re.search(r"^exec bulkpin push ", TEXT, re.MULTILINE)
    assert _sbatch("signal").startswith("B:TERM@")
    assert TEXT.startswith("#!/bin/bash\n")


def test_every_array_task_runs_natively(tmp_path: Path) -> None:
    tree = tmp_path / "data"
    make_tree(tree)
    expected, root = cid_tree(tree)
    out = tmp_path / "manifests"
    with ServiceProcess(tmp_path / "service", "--job-delay", "0.05").start() as svc:
        tasks = []
        for index in _indexes():
            scratch = tmp_path / f"node-{index}"  # each task's node-local $TMPDIR
            scratch.mkdir()
            env = {
                **base_env(tmp_path),
                "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                "SLURM_ARRAY_JOB_ID": "4242", "SLURM_ARRAY_TASK_ID": str(index),
                "SLURM_JOB_ID": str(4243 + index), "SLURM_CPUS_PER_TASK": "2",
                "TMPDIR": str(scratch), "HOME": str(tmp_path / "home"),
                "BULKPIN_DATA": str(tree), "BULKPIN_OUT": str(out),
                "BULKPIN_PROFILE": str(svc.profile_path),
            }
            tasks.append(subprocess.Popen(["bash", str(SCRIPT)], env=env, text=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for task in tasks:
            _, stderr = task.communicate(timeout=300)
            assert task.returncode == 0, stderr[-3000:]
        manifests = [out / f"manifest-{i}.jsonl" for i in _indexes()]
        check_shards(manifests, expected)
        check_pinned(svc, expected)
        assert svc.stats()["duplicate_jobs"] == 0
        # The journal went to node-local scratch, not the user's state directory.
        assert all(list((tmp_path / f"node-{i}").glob("bulkpin-4242-*.sqlite"))
                   for i in _indexes())
    assert merged_root(manifests, tmp_path / "manifest.jsonl") == root
