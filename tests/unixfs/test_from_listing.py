"""A tree's root from a listing of its files equals the root of importing the tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulkpin.unixfs import (
    UNIXFS_V0_2015,
    UNIXFS_V1_2025,
    CidProfile,
    DirectoryBuilder,
    ListedFile,
    ListingError,
    TreeEntry,
    hash_bytes,
    import_tree,
    roots_from_listing,
)


def _import(root: Path, profile: CidProfile) -> tuple[list[ListedFile], TreeEntry]:
    entries = [e for e in import_tree([str(root)], profile, recursive=True, hash_workers=1)
               if isinstance(e, TreeEntry)]
    files = [ListedFile(e.path, e.cid, e.size) for e in entries if e.kind == "file"]
    return files, entries[-1]


@pytest.mark.parametrize("profile", [UNIXFS_V0_2015, UNIXFS_V1_2025], ids=lambda p: p.name)
def test_equals_import_of_the_tree(tmp_path: Path, profile: CidProfile) -> None:
    root = tmp_path / "t"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "b" / "c" / "deep").write_bytes(b"d" * 3_000_000)  # several levels of DAG
    (root / "a" / "x").write_bytes(b"x")
    (root / "a" / "b" / "y").write_bytes(b"")
    (root / "ab").write_bytes(b"sorts between a and a/b")
    (root / "b").mkdir()
    (root / "b" / "z").write_bytes(b"z" * 262_144)
    files, top = _import(root, profile)
    # Any order in: the listing is sorted the way the builder needs.
    found = roots_from_listing(reversed(files), profile)
    assert [(r.name, r.cid, r.size, r.files) for r in found] == [
        (b"t", top.cid, top.size, len(files))
    ]


def test_hamt_directory_as_the_builder_makes_it() -> None:
    # Synthetic rows: 5,000 names of 30 bytes + 34-byte CIDs, 320 KB of links.
    builder = DirectoryBuilder(UNIXFS_V0_2015)
    files = []
    for n in range(5000):
        content = str(n).encode()
        name = f"{n:030d}".encode()
        result = hash_bytes(content)
        builder.add(name, result.link())
        files.append(ListedFile(b"top/" + name, result.cid, len(content)))
    expected = builder.finish()
    assert expected.sharded
    (found,) = roots_from_listing(files)
    assert found.cid == expected.cid


def test_several_tops_and_a_top_level_file() -> None:
    one, two = hash_bytes(b"1"), hash_bytes(b"2")
    found = roots_from_listing([
        ListedFile(b"file.txt", one.cid, 1),
        ListedFile(b"dir/f", two.cid, 1),
    ])
    builder = DirectoryBuilder()
    builder.add(b"f", two.link())
    assert [(r.name, r.cid) for r in found] == [
        (b"dir", builder.finish().cid), (b"file.txt", one.cid),
    ]


@pytest.mark.parametrize("paths", [
    [b"t/a", b"t/a"],                 # twice
    [b"t/a", b"t/a/b"],               # a file and a directory
    [b"t", b"t/a"],                   # a top file and a top directory
    [b"/abs/a"],                      # not below a top directory
    [b"t/../a"], [b"t/./a"], [b"t//a"],
])
def test_listings_that_are_no_tree(paths: list[bytes]) -> None:
    cid = hash_bytes(b"").cid
    with pytest.raises(ListingError):
        roots_from_listing(ListedFile(p, cid, 0) for p in paths)


def test_a_cid_of_another_profile_is_refused() -> None:
    v1 = hash_bytes(b"v1", UNIXFS_V1_2025).cid
    with pytest.raises(ListingError, match="not made with CID profile unixfs-v0-2015"):
        roots_from_listing([ListedFile(b"t/a", v1, 2)])
    v0 = hash_bytes(b"v0").cid
    with pytest.raises(ListingError, match="unixfs-v1-2025"):
        roots_from_listing([ListedFile(b"t/a", v0, 2)], UNIXFS_V1_2025)


def test_undecodable_names(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    with open(os.fsencode(root) + b"/\xff\xfe", "wb") as f:
        f.write(b"raw name")
    files, top = _import(root, UNIXFS_V0_2015)
    assert files[0].path == b"t/\xff\xfe"
    assert roots_from_listing(files)[0].cid == top.cid
