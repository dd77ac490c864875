"""Walking trees: order, errors, special files, names that are not UTF-8."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bulkpin.fs import _walk as fswalk
from bulkpin.unixfs import (
    DirectoryBuilder,
    FileResult,
    TreeEntry,
    TreeError,
    TreeImporter,
    get_profile,
    hash_bytes,
    hash_file,
)
from bulkpin.unixfs.node import (
    DAG_PB,
    EMPTY_DIRECTORY_DATA,
    TYPE_DIRECTORY,
    Link,
    decode_node,
    encode_node,
    make_cid,
)

EMPTY_DIR = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"


def _run(paths: list[Path], **kwargs: object) -> list[TreeEntry | TreeError]:
    importer = TreeImporter(recursive=True, **kwargs)  # type: ignore[arg-type]
    return list(importer.run([str(p) for p in paths]))


def test_children_come_before_their_directory_in_name_order(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "b").mkdir(parents=True)
    (root / "b" / "z").write_bytes(b"z")
    (root / "a").write_bytes(b"a")
    (root / "c").mkdir()
    paths = [os.fsdecode(r.path) for r in _run([root])]
    assert paths == ["r/a", "r/b/z", "r/b", "r/c", "r"]


def test_non_utf8_names_are_kept_as_bytes(tmp_path: Path) -> None:
    root = os.path.join(os.fsencode(tmp_path), b"r")
    os.mkdir(root)
    name = b"caf\xe9.txt"  # Latin-1, not UTF-8
    with open(os.path.join(root, name), "wb") as f:
        f.write(b"x")
    results = _run([Path(os.fsdecode(root))])
    assert [r.path for r in results] == [b"r/" + name, b"r"]
    root_entry = results[-1]
    assert isinstance(root_entry, TreeEntry)
    builder = DirectoryBuilder()
    builder.add(name, hash_bytes(b"x").link())
    assert root_entry.cid == builder.finish().cid


def test_missing_path_is_reported_and_others_still_processed(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_bytes(b"ok")
    results = _run([tmp_path / "missing", tmp_path / "ok.txt"])
    assert isinstance(results[0], TreeError)
    assert "No such file" in results[0].message
    assert isinstance(results[1], TreeEntry)
    assert results[1].cid == hash_bytes(b"ok").cid


def test_directory_without_recursive_is_an_error(tmp_path: Path) -> None:
    results = list(TreeImporter().run([str(tmp_path)]))
    assert len(results) == 1
    assert isinstance(results[0], TreeError)
    assert "-r" in results[0].message


def test_unreadable_file_fails_its_directories_but_not_its_siblings(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "secret").write_bytes(b"s")
    (root / "fine").write_bytes(b"f")
    (tmp_path / "other").write_bytes(b"o")

    def hasher(path: bytes, profile: object) -> FileResult:
        if path.endswith(b"secret"):
            raise PermissionError(13, "Permission denied")
        return hash_file(path, profile)  # type: ignore[arg-type]

    importer = TreeImporter(recursive=True, hasher=hasher)
    results = list(importer.run([str(root), str(tmp_path / "other")]))
    by_path = {os.fsdecode(r.path): r for r in results}
    assert isinstance(by_path["r/sub/secret"], TreeError)
    assert "Permission denied" in by_path["r/sub/secret"].message
    # A CID that left the file out would name a tree that does not exist.
    assert isinstance(by_path["r/sub"], TreeError)
    assert isinstance(by_path["r"], TreeError)
    assert isinstance(by_path["r/fine"], TreeEntry)
    assert isinstance(by_path["other"], TreeEntry)


def test_special_files_are_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    os.mkfifo(root / "fifo")  # opening it for reading would block forever
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        results = _run([root])
    finally:
        sock.close()
    errors = {os.fsdecode(r.path) for r in results if isinstance(r, TreeError)}
    assert {"r/fifo", "r/sock"} <= errors


def test_symlinks_are_stored_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"not part of the tree")
    root = tmp_path / "r"
    root.mkdir()
    (root / "out").symlink_to(outside)
    (root / "loop").symlink_to(root / "loop")
    results = _run([root])
    assert [os.fsdecode(r.path) for r in results] == ["r/loop", "r/out", "r"]
    assert all(isinstance(r, TreeEntry) for r in results)
    assert [r.kind for r in results] == ["symlink", "symlink", "directory"]  # type: ignore[union-attr]


def test_hidden_entries_need_the_flag(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_bytes(b"ref")
    (root / ".env").write_bytes(b"x")
    without = [os.fsdecode(r.path) for r in _run([root])]
    with_hidden = [os.fsdecode(r.path) for r in _run([root], hidden=True)]
    assert without == ["r"]
    assert with_hidden == ["r/.env", "r/.git/HEAD", "r/.git", "r"]
    assert _run([root])[-1].cid == EMPTY_DIR  # type: ignore[union-attr]


def test_very_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    path = tmp_path / "d"
    depth = 400  # deeper than any recursive walk would survive at default limits/2
    current = os.fsencode(path)
    os.mkdir(current)
    fd = os.open(current, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(b"x", dir_fd=fd)
            new = os.open(b"x", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
    finally:
        os.close(fd)
    results = list(TreeImporter(recursive=True).run([str(path)]))
    assert len(results) == depth + 1
    assert all(isinstance(r, TreeEntry) for r in results)


def test_results_stream_before_the_walk_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(40):
        d = tmp_path / "r" / f"d{i:02}"
        d.mkdir(parents=True)
        (d / "f").write_bytes(b"%d" % i)
    importer = TreeImporter(recursive=True, hash_workers=1)
    listed: list[bytes] = []
    original = fswalk._listing

    def spy(path: bytes, hidden: bool) -> list[bytes]:
        listed.append(path)
        return original(path, hidden)

    monkeypatch.setattr(fswalk, "_listing", spy)
    results = importer.run([str(tmp_path / "r")])
    next(results)
    # The window is 8 items per worker: far fewer than 40 directories were read.
    assert len(listed) < 41
    assert sum(1 for _ in results) == 40 * 2


def test_sharded_directory_kinds(tmp_path: Path) -> None:
    profile = get_profile("unixfs-v0-2015")
    empty = hash_bytes(b"").link()
    builder = DirectoryBuilder(profile)
    # 34 bytes of CID + 30 bytes of name per entry: 4096 entries = 262144, the threshold.
    names = [f"{i:030d}".encode() for i in range(4096)]
    for name in names:
        builder.add(name, empty)
    assert builder.estimated_size() == 262144
    assert not builder.finish().sharded
    builder.add(b"x", empty)
    result = builder.finish()
    assert result.sharded


def test_subdirectories_count_towards_the_threshold_as_kubo_counts_them() -> None:
    """kubo's MFS adds a subdirectory's link (name + CID) before filling it."""
    profile = get_profile("unixfs-v0-2015")
    builder = DirectoryBuilder(profile)
    sub = DirectoryBuilder(profile).finish()
    builder.add(b"sub", sub.link())
    assert builder.estimated_size() == 3 + 34


def test_directory_rejects_bad_and_duplicate_names() -> None:
    builder = DirectoryBuilder()
    link = Link(hash_bytes(b"").cid_bytes, 6)
    builder.add(b"a", link)
    for bad in (b"", b"a/b", b"a"):
        with pytest.raises(ValueError, match=r"name|duplicate"):
            builder.add(bad, link)


def test_directory_node_is_sorted_by_name_bytes() -> None:
    builder = DirectoryBuilder()
    for name in (b"b", b"a", b"B"):
        builder.add(name, hash_bytes(name).link())
    result = builder.finish()
    # The block as dag-pb requires it: links in byte order ("B" < "a" < "b").
    block = encode_node(
        EMPTY_DIRECTORY_DATA,
        [(hash_bytes(n).cid_bytes, n, hash_bytes(n).tsize) for n in (b"B", b"a", b"b")],
    )
    assert result.cid_bytes == make_cid(0, DAG_PB, block)
    assert result.tsize == len(block) + sum(hash_bytes(n).tsize for n in (b"a", b"b", b"B"))
    node = decode_node(block)
    assert node.kind == TYPE_DIRECTORY


def test_known_files_are_not_read_and_give_the_same_tree(tmp_path: Path) -> None:
    # The push pipeline hands the importer the CIDs its journal holds, so a
    # re-run computes root CIDs without reading or even queueing those files.
    root = tmp_path / "t"
    (root / "sub").mkdir(parents=True)
    for i in range(12):
        (root / ("sub" if i % 2 else ".") / f"f{i}").write_bytes(bytes([i]) * (i * 999))
    plain = TreeImporter(recursive=True).run([str(root)])
    expected = {e.path: e.cid for e in plain if isinstance(e, TreeEntry)}
    hashed: list[bytes] = []
    looked: list[bytes] = []

    def hasher(path: bytes, profile: object) -> FileResult:
        hashed.append(path)
        return hash_file(path)

    def known(path: bytes, st: os.stat_result) -> FileResult | None:
        looked.append(path)
        assert st.st_size == os.lstat(path).st_size  # the walk's own stat
        # Every other file is "in the journal": the rest must still be hashed.
        return hash_file(path) if path.endswith((b"0", b"2", b"4", b"6", b"8")) else None

    importer = TreeImporter(recursive=True, hasher=hasher, known=known)
    got = {e.path: e.cid for e in importer.run([str(root)]) if isinstance(e, TreeEntry)}
    assert got == expected
    assert len(looked) == 12
    assert sorted(os.path.basename(p) for p in hashed) == sorted(
        f"f{i}".encode() for i in range(12) if i % 2
    )
