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


def test_every_copy_of_a_content_is_one_shards(tmp_path: Path) -> None:
    """Shares by content: copies under other names (and in other PATHs) go together,
    and the shares still split the tree disjointly and cover it."""
    one, two = tmp_path / "one", tmp_path / "two"
    for i in range(60):
        data = bytes([i]) * (1 + 701 * i)
        for path in (one / f"d{i % 4}" / f"f{i}", one / "copies" / f"c{i}", two / f"x{i}"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    roots = [os.fsencode(one), os.fsencode(two)]
    owner: dict[bytes, int] = {}
    for index in range(3):
        sel = Selection(shard=Shard(index, 3))
        for cand in walk_candidates(roots, sel):
            assert cand.display not in owner
            owner[cand.display] = index
    assert len(owner) == 180
    by_content: dict[bytes, set[int]] = {}
    for display, index in owner.items():
        by_content.setdefault((tmp_path / os.fsdecode(display)).read_bytes(), set()).add(index)
    assert all(len(shards) == 1 for shards in by_content.values())
    assert len(set(owner.values())) == 3  # and still spread


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
    got = {c.display: (c.kind, c.reason) for c in walk_candidates([os.fsencode(root)], sel)}
    assert [p for p, (kind, _) in got.items() if kind == "file"] == [
        b"t/cache/big.bin", b"t/keep.jpg"
    ]
    # What a filter leaves out is reported, with why (issue 14): never silently dropped.
    assert got[b"t/skip.tmp"] == ("skipped", "left out: matches --exclude")
    assert got[b"t/small.jpg"] == ("skipped", "left out: smaller than --min-size 2")
    pruned = {c.display: (c.kind, c.reason)
              for c in walk_candidates([os.fsencode(root)], Selection(exclude=("cache",)))}
    assert b"t/cache/big.bin" not in pruned  # the directory was not walked...
    assert pruned[b"t/cache"] == ("skipped",
                                  "left out: directory matches --exclude; not walked")


def test_hidden_names_are_reported_when_left_out(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_bytes(b"ref")
    (root / ".env").write_bytes(b"SECRET=1")
    (root / "f").write_bytes(b"1")
    with_hidden = {c.display: c.kind for c in walk_candidates([os.fsencode(root)], Selection(),
                                                              hidden=True)}
    assert with_hidden == {b"t/.env": "file", b"t/.git/HEAD": "file", b"t/f": "file"}
    without = {c.display: (c.kind, c.reason) for c in walk_candidates([os.fsencode(root)],
                                                                      Selection())}
    assert without[b"t/.env"] == ("skipped", "left out: hidden (--no-hidden)")
    assert without[b"t/.git"] == ("skipped", "left out: hidden (--no-hidden)")
    assert without[b"t/f"] == ("file", None)


def test_a_symlink_argument_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_bytes(b"1")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    for arg in (tmp_path / "link", f"{tmp_path / 'link'}/"):
        got = [(c.display, c.kind) for c in walk_candidates([os.fsencode(arg)], Selection())]
        assert got == [(b"link/f", "file")]


def test_procfs_files_are_skipped_not_read(tmp_path: Path) -> None:
    if not Path("/proc/self/pagemap").exists():
        pytest.skip("needs Linux's /proc")
    got = {c.display: (c.kind, c.reason)
           for c in walk_candidates([b"/proc/self/pagemap", b"/proc/self/status"], Selection())}
    assert got[b"pagemap"] == ("skipped", "on the proc pseudo-filesystem: never read")
    assert got[b"status"][0] == "skipped"
    with pytest.raises(SelectionError):
        Selection(min_size=10, max_size=1)


def test_special_files_and_symlinks_are_reported_not_opened(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    os.mkfifo(root / "fifo")
    # A directory of the test's own outside the tree, not the host's /etc.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    (elsewhere / "inner").write_bytes(b"2")
    (elsewhere / "sub" / "deep").write_bytes(b"3")
    (root / "link").symlink_to(elsewhere)
    (root / "f").write_bytes(b"1")
    kinds = {c.display: (c.kind, c.reason) for c in walk_candidates([os.fsencode(root)],
                                                                    Selection())}
    assert kinds[b"t/f"] == ("file", None)
    assert kinds[b"t/fifo"][0] == "skipped"
    assert "never opened" in str(kinds[b"t/fifo"][1])
    assert kinds[b"t/link"][0] == "skipped"
    assert not [p for p in kinds if p.startswith(b"t/link/")]
    followed = {c.display: c.kind for c in walk_candidates([os.fsencode(root)], Selection(),
                                                           follow_symlinks=True)}
    assert {p: k for p, k in followed.items() if p.startswith(b"t/link")} == {
        b"t/link/inner": "file", b"t/link/sub/deep": "file"}


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
