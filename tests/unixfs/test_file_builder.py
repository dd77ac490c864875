"""The incremental file builder: split independence, layout shape, bounded state."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkpin.unixfs import CidProfile, FileBuilder, FileResult, get_profile, hash_bytes, hash_file
from bulkpin.unixfs.file_builder import leaf_links
from bulkpin.unixfs.node import TYPE_FILE, decode_node

from .content import content

SMALL = get_profile("unixfs-v0-2015", chunk_size=64, max_links=3)
SMALL_RAW = get_profile("unixfs-v1-2025", chunk_size=64, max_links=3)


def _feed_split(data: bytes, cuts: list[int], profile: CidProfile) -> str:
    builder = FileBuilder(profile)
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        builder.update(data[start:cut])
        start = cut
    return builder.finish().cid


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=64 * 40),
    cuts=st.lists(st.integers(min_value=0, max_value=64 * 40), max_size=30),
    raw=st.booleans(),
)
def test_cid_does_not_depend_on_how_bytes_are_split(size: int, cuts: list[int], raw: bool) -> None:
    profile = SMALL_RAW if raw else SMALL
    data = content("split", size)
    cuts = [c for c in cuts if c <= size]
    assert _feed_split(data, cuts, profile) == hash_bytes(data, profile).cid


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=5000), piece=st.integers(min_value=1, max_value=700))
def test_memoryview_and_bytes_feeds_agree(data: bytes, piece: int) -> None:
    builder = FileBuilder(SMALL)
    view = memoryview(bytearray(data))
    for i in range(0, len(data), piece):
        builder.update(view[i : i + piece])
    assert builder.finish().cid == hash_bytes(data, SMALL).cid


def _build(profile: CidProfile, data: bytes) -> tuple[FileResult, dict[bytes, bytes]]:
    blocks: dict[bytes, bytes] = {}
    builder = FileBuilder(profile, on_node=blocks.__setitem__)
    builder.update(data)
    return builder.finish(), blocks


def _shape(blocks: dict[bytes, bytes], cid: bytes) -> object:
    """The tree as nested lists of leaf counts: [[3, 1]] etc.; a leaf is 1."""
    if cid not in blocks:
        return 1
    return [_shape(blocks, link.cid) for link in decode_node(blocks[cid]).links]


@pytest.mark.parametrize(
    ("chunks", "shape"),
    [
        (1, 1),
        (2, [1, 1]),
        (3, [1, 1, 1]),
        (4, [[1, 1, 1], [1]]),
        (9, [[1, 1, 1], [1, 1, 1], [1, 1, 1]]),
        (10, [[[1, 1, 1], [1, 1, 1], [1, 1, 1]], [[1]]]),
    ],
)
def test_balanced_layout_shape(chunks: int, shape: object) -> None:
    """Leaves grouped left to right by max_links; every leaf at the same depth."""
    profile = get_profile("unixfs-v0-2015", chunk_size=8, max_links=3)
    result, blocks = _build(profile, content("layout", chunks * 8))
    assert _shape(blocks, result.cid_bytes) == shape
    assert result.size == chunks * 8


def test_root_node_records_blocksizes_and_filesize() -> None:
    profile = get_profile("unixfs-v0-2015", chunk_size=100, max_links=174)
    result, blocks = _build(profile, content("sizes", 250))
    block = blocks[result.cid_bytes]
    node = decode_node(block)
    assert node.kind == TYPE_FILE
    assert node.filesize == 250
    assert node.blocksizes == (100, 100, 50)
    assert [link.name for link in node.links] == [b"", b"", b""]
    assert hashlib.sha256(block).digest() == result.cid_bytes[2:]
    assert result.tsize == len(block) + sum(link.tsize for link in node.links)


def test_pending_state_is_bounded_by_levels_not_file_size() -> None:
    """A file of 3**6 chunks keeps at most max_links links per level."""
    profile = get_profile("unixfs-v0-2015", chunk_size=16, max_links=3)
    builder = FileBuilder(profile)
    piece = content("bounded", 16 * 7)
    peak = 0
    for _ in range(3**6 // 7 + 1):
        builder.update(piece)
        levels = builder._layout._levels
        peak = max(peak, sum(len(level) for level in levels))
        assert len(builder._chunker._buf) < 16
    builder.finish()
    assert peak <= 3 * 7


def test_builder_refuses_use_after_finish() -> None:
    builder = FileBuilder()
    builder.update(b"x")
    builder.finish()
    with pytest.raises(RuntimeError):
        builder.update(b"y")
    with pytest.raises(RuntimeError):
        builder.finish()


def test_hash_file_matches_hash_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    data = content("file", 3 * 262144 + 17)
    path.write_bytes(data)
    # A read size that is not a multiple of the chunk size exercises the copy path.
    assert hash_file(path, read_size=100_000).cid == hash_bytes(data).cid
    assert hash_file(path).cid == hash_bytes(data).cid


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(st.integers(min_value=0, max_value=12), max_size=8),
    tail=st.integers(min_value=0, max_value=64 * 3),
    raw=st.booleans(),
)
def test_leaves_hashed_apart_and_added_in_order_give_the_same_cid(
    parts: list[int], tail: int, raw: bool
) -> None:
    # The service hashes whole-chunk parts on several threads and joins their
    # leaves in order; that must give the same DAG as feeding the bytes in one go.
    profile = SMALL_RAW if raw else SMALL
    data = content("leaves", 64 * sum(parts) + tail)
    builder = FileBuilder(profile)
    start = 0
    for chunks in parts:
        end = start + 64 * chunks
        builder.add_leaves(leaf_links(profile, data[start:end]))
        start = end
    builder.update(data[start:])
    result = builder.finish()
    expected = hash_bytes(data, profile)
    assert (result.cid, result.size, result.tsize) == (expected.cid, expected.size, expected.tsize)


def test_add_leaves_refuses_what_would_break_the_file() -> None:
    with pytest.raises(ValueError, match="whole number"):
        leaf_links(SMALL, b"x" * 65)
    builder = FileBuilder(SMALL)
    builder.update(b"x" * 10)  # a partial chunk is buffered: leaves cannot follow it
    with pytest.raises(RuntimeError, match="partial chunk"):
        builder.add_leaves(leaf_links(SMALL, b"y" * 64))
    builder.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        builder.add_leaves([])
