"""A manifest on a full disk (issue 25, item 7): named, the summary kept, no temp file left.

The manifest's directory is a small tmpfs (``tests/support/small_disk.py``):
the run's files pin, then the manifest does not fit.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.push import all_pins, run_push
from tests.support.service import ServiceProcess
from tests.support.small_disk import small_tmpfs


def test_a_manifest_that_does_not_fit(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    for i in range(400):
        (tree / f"a-rather-long-file-name-to-make-rows-longer-{i:04}").write_bytes(b"%d" % i)
    with small_tmpfs(tmp_path / "disk", "32k") as disk:
        out = disk / "m.jsonl"
        journal = tmp_path / "j.sqlite"
        proc = run_push(service, tree, "--journal", journal, "--manifest", out)
        assert sorted(p.name for p in disk.iterdir()) == []  # no m.jsonl, no .m.jsonl.tmp
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert (f"error: cannot write the manifest {out}: No space left on device; every row is in"
            f" the journal: write it once there is room with `bulkpin status --journal"
            f" {journal} --manifest {out}`") in proc.stderr
    assert "done, but the manifest could not be written (exit status 1)" in proc.stderr
    assert f"journal: {journal}" in proc.stderr  # the summary is still there
    assert len(all_pins(service)) == 400
