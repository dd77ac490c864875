"""Filters and shards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkpin.fs import files_from, walk_candidates
from bulkpin.push import Selection, SelectionError, Shard


@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=200, unique=True),
       st.integers(min_value=1, max_value=9))
def test_shards_are_disjoint_and_cover_the_tree(paths: list[bytes], count: int) -> None:
    owners = [[i for i in range(count) if Shard(i, count).takes(p)] for p in paths]
    assert all(len(o) == 1 for o in owners)


def test_shard_parse() -> None:
    assert Shard.parse("2/4") == Shard(2, 4)
    for bad in ("4/4", "-1/2", "x", "1/0", "1/2/3"):
        with pytest.raises(SelectionError):
            Shard.parse(bad)


def test_globs_sizes_and_pruning(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "cache").mkdir(parents=True)
    (root / "cache" / "big.bin").write_bytes(b"x" * 100)
    (root / "keep.jpg").write_bytes(b"x" * 50)
    (root / "skip.tmp").write_bytes(b"x" * 50)
    (root / "small.jpg").write_bytes(b"x")
    sel = Selection(include=("*.jpg", "cache/*"), exclude=("*.tmp",), min_size=2)
    got = [c.display for c in walk_candidates([os.fsencode(root)], sel)]
    assert got == [b"t/cache/big.bin", b"t/keep.jpg"]
    pruned = Selection(exclude=("cache",))
    assert b"t/cache/big.bin" not in [
        c.display for c in walk_candidates([os.fsencode(root)], pruned)
    ]
    with pytest.raises(SelectionError):
        Selection(min_size=10, max_size=1)


def test_special_files_and_symlinks_are_reported_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    os.mkfifo(root / "fifo")
    (root / "link").symlink_to("/etc")
    (root / "f").write_bytes(b"1")
    kinds = {c.display: (c.kind, c.reason) for c in walk_candidates([os.fsencode(root)],
                                                                    Selection())}
    assert kinds[b"t/f"] == ("file", None)
    assert kinds[b"t/fifo"][0] == "skipped"
    assert "never opened" in str(kinds[b"t/fifo"][1])
    assert kinds[b"t/link"][0] == "skipped"
    followed = [c.display for c in walk_candidates([os.fsencode(root)], Selection(),
                                                   follow_symlinks=True)]
    assert b"t/link/hostname" in followed or any(p.startswith(b"t/link/") for p in followed)


def test_symlink_loop_is_reported_when_following(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / "d").mkdir(parents=True)
    (root / "d" / "up").symlink_to("..")
    (root / "d" / "f").write_bytes(b"1")
    cands = list(walk_candidates([os.fsencode(root)], Selection(), follow_symlinks=True))
    errors = [c for c in cands if c.kind == "error"]
    assert [c.display for c in errors] == [b"t/d/up"]
    assert "loop" in str(errors[0].reason)


def test_files_from(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"1")
    (tmp_path / "d").mkdir()
    lines = [os.fsencode(tmp_path / "a"), b"", os.fsencode(tmp_path / "missing"),
             os.fsencode(tmp_path / "d")]
    kinds = [(c.kind, c.reason) for c in files_from(lines, Selection())]
    assert kinds[0] == ("file", None)
    assert kinds[1][0] == "error"
    assert "No such file" in str(kinds[1][1])
    assert kinds[2][0] == "error"
