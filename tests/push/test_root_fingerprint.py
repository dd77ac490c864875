"""A re-run reuses a PATH's root CID only while the tree is the one it was computed from.

Each push runs in this process against ``bulkpin serve`` on loopback, so the
test can count how often the root-CID walk (``TreeImporter`` in
:mod:`bulkpin.push.roots`) runs; the expected CID is ``bulkpin cid -r``'s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

import bulkpin.push.roots as roots_module
from bulkpin.client import DecooClient, load_credentials
from bulkpin.fs import Selection
from bulkpin.push import Journal, PushOptions, push
from bulkpin.unixfs import DEFAULT_PROFILE, TreeEntry, TreeError, TreeImporter
from tests.support.service import ServiceProcess

pytestmark = pytest.mark.anyio


class _Counted(TreeImporter):
    """The root-CID walk, counted: how many PATHs a run walked again for their CID."""

    runs = 0

    def run(self, paths: Iterable[str | bytes]) -> Iterator[TreeEntry | TreeError]:
        type(self).runs += 1
        return super().run(paths)


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> type[_Counted]:
    monkeypatch.setattr(_Counted, "runs", 0)
    monkeypatch.setattr(roots_module, "TreeImporter", _Counted)
    return _Counted


def cid_r(path: Path, *, hidden: bool = True) -> str:
    """The root CID ``bulkpin cid -r`` prints for ``path``."""
    flags = ["--hidden"] if hidden else []
    proc = subprocess.run([sys.executable, "-m", "bulkpin", "cid", "-r", *flags, str(path)],
                          capture_output=True, text=True, check=True)
    last = proc.stdout.splitlines()[-1].split()
    assert last[2] == path.name, proc.stdout
    return last[1]


class Runs:
    """Pushes of one PATH with one journal, each returning the root CID it printed."""

    def __init__(self, service: ServiceProcess, tmp_path: Path, walks: type[_Counted]) -> None:
        self.service, self.tmp_path, self.walks = service, tmp_path, walks

    async def push(self, path: Path, **options: object) -> tuple[str | None, int]:
        """Push ``path``; its root CID and how many PATHs were walked again for it."""
        before = self.walks.runs
        opts = PushOptions(journal=self.tmp_path / "j.sqlite", poll_interval=0.05,
                           concurrency=4, **options)  # type: ignore[arg-type]
        credentials = load_credentials(profile=self.service.profile_path, env={})
        async with DecooClient(credentials, concurrency=4) as client:
            summary = await push([str(path)], opts, client=client)
        assert summary.exit_status == 0, summary.reason
        [(printed_path, cid)] = summary.roots
        assert printed_path == str(path)
        return cid, self.walks.runs - before


@pytest.fixture
def runs(service: ServiceProcess, tmp_path: Path, walks: type[_Counted]) -> Runs:
    return Runs(service, tmp_path, walks)


def make_tree(root: Path) -> Path:
    (root / "a" / "deep").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "one.txt").write_bytes(b"one")
    (root / "a" / "deep" / "two.txt").write_bytes(b"two")
    (root / "b" / "three.txt").write_bytes(b"three")
    (root / "top.txt").write_bytes(b"top")
    (root / "link").symlink_to("top.txt")
    return root


async def test_a_no_op_rerun_prints_the_root_cid_without_walking_for_it(
    runs: Runs, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    first, walked = await runs.push(tree)
    assert (first, walked) == (cid_r(tree), 1)
    again, walked = await runs.push(tree)
    assert (again, walked) == (first, 0)
    # What a reader of the journal sees is the same CID, recorded as before.
    with Journal(tmp_path / "j.sqlite", profile_name=DEFAULT_PROFILE.name,
                 read_only=True) as journal:
        assert [cid for _, _, cid, _ in journal.roots()] == [first]


def _same_size_new_content(tree: Path) -> None:
    path = tree / "a" / "deep" / "two.txt"
    st = path.stat()
    path.write_bytes(b"TWO")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _retarget(tree: Path) -> None:
    (tree / "link").unlink()
    (tree / "link").symlink_to("a/one.txt")


CHANGES: dict[str, Callable[[Path], object]] = {
    "content, same size": _same_size_new_content,
    "file added": lambda t: (t / "b" / "new.txt").write_bytes(b"new"),
    "file removed": lambda t: (t / "b" / "three.txt").unlink(),
    "file renamed": lambda t: (t / "b" / "three.txt").rename(t / "b" / "four.txt"),
    "file moved to another dir": lambda t: (t / "b" / "three.txt").rename(t / "a" / "three.txt"),
    "empty dir added": lambda t: (t / "a" / "deep" / "empty").mkdir(),
    "dir renamed": lambda t: (t / "b").rename(t / "c"),
    "symlink retargeted": _retarget,
    "hidden file added": lambda t: (t / "a" / ".hidden").write_bytes(b"h"),
    "dir removed": lambda t: shutil.rmtree(t / "a" / "deep"),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_changed_tree_gets_its_new_root_cid(
    runs: Runs, tmp_path: Path, change: str
) -> None:
    tree = make_tree(tmp_path / "tree")
    first, _ = await runs.push(tree)
    CHANGES[change](tree)
    expected = cid_r(tree)
    assert expected != first  # every change here is one the CID sees
    printed, walked = await runs.push(tree)
    assert (printed, walked) == (expected, 1)
    # ... and the CID now kept is the new one, with the new tree's fingerprint.
    assert await runs.push(tree) == (expected, 0)


async def test_a_hidden_file_without_hidden_changes_nothing(runs: Runs, tmp_path: Path) -> None:
    """Left out by the walk that computes the CID: reusing the CID is right."""
    tree = make_tree(tmp_path / "tree")
    first, _ = await runs.push(tree, hidden=False)
    (tree / "b" / ".secret").write_bytes(b"s")
    assert cid_r(tree, hidden=False) == first
    assert await runs.push(tree, hidden=False) == (first, 0)
    # With --hidden the same tree is another tree.
    with_hidden, walked = await runs.push(tree, hidden=True)
    assert (with_hidden, walked) == (cid_r(tree, hidden=True), 1)
    assert with_hidden != first


async def test_a_path_that_is_a_symlink(runs: Runs, tmp_path: Path) -> None:
    """The push walks through it; the root CID is the link's, as ``cid -r`` says."""
    make_tree(tmp_path / "tree")
    other = make_tree(tmp_path / "other")
    (other / "extra").write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to("tree")
    first, _ = await runs.push(link)
    assert first == cid_r(link)
    assert await runs.push(link) == (first, 0)
    link.unlink()
    link.symlink_to("other")
    expected = cid_r(link)
    assert expected != first
    assert await runs.push(link) == (expected, 1)


async def test_a_path_replaced_by_a_symlink_to_the_same_dir(runs: Runs, tmp_path: Path) -> None:
    """The push's walk follows the PATH and finds the very entries it found before; the
    fold must still tell a directory from a link to it."""
    tree = make_tree(tmp_path / "tree")
    first, _ = await runs.push(tree)
    tree.rename(tmp_path / "moved")
    tree.symlink_to("moved")
    expected = cid_r(tree)
    assert expected != first
    assert await runs.push(tree) == (expected, 1)


async def test_following_symlinks_always_walks_again(runs: Runs, tmp_path: Path) -> None:
    """That walk reports a link's target where the CID's walk reports the link."""
    tree = make_tree(tmp_path / "tree")
    first, _ = await runs.push(tree, follow_symlinks=True)
    assert first == cid_r(tree)
    assert await runs.push(tree, follow_symlinks=True) == (first, 1)


async def test_a_filtered_run_has_no_root_cid_and_forgets_the_kept_one(
    runs: Runs, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    first, _ = await runs.push(tree)
    assert await runs.push(tree, selection=Selection(exclude=("*.txt",))) == (None, 0)
    assert await runs.push(tree) == (first, 1)


async def test_a_cid_written_without_its_fingerprint_is_not_trusted(
    runs: Runs, tmp_path: Path
) -> None:
    """An older bulkpin rewrites ``roots.cid`` and leaves ``meta`` as it was: the kept
    fingerprint names the CID it vouches for, so it no longer pairs with the row."""
    tree = make_tree(tmp_path / "tree")
    first, _ = await runs.push(tree)
    with contextlib.closing(sqlite3.connect(tmp_path / "j.sqlite")) as db, db:
        db.execute("UPDATE roots SET cid = 'QmOlderRunOfAnotherTree'")
    assert await runs.push(tree) == (first, 1)
