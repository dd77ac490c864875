"""One file's leaves hashed on several threads: the same CID and DAG size as one thread.

The contents come from :func:`.content.content`, where no two chunks are alike,
so a stage joined out of order, a chunk hashed twice or a lost tail changes
the CID (``test_a_stage_out_of_order_is_caught`` shows the oracle notices).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkpin.unixfs import (
    UNIXFS_V0_2015,
    UNIXFS_V1_2025,
    CidProfile,
    FileBuilder,
    FileResult,
    TreeEntry,
    TreeImporter,
    get_profile,
    hash_bytes,
    hash_file,
    hash_file_parallel,
)
from bulkpin.unixfs import parallel as parallel_module
from bulkpin.unixfs import tree as tree_module
from bulkpin.unixfs.file_builder import leaf_links
from bulkpin.unixfs.parallel import hash_stages

from .content import content

# Small shapes, so hypothesis can cross many chunk, stage and layout boundaries
# (max_links=3: a new tree level every few chunks) in milliseconds.
SMALL = get_profile("unixfs-v0-2015", chunk_size=64, max_links=3)
SMALL_RAW = get_profile("unixfs-v1-2025", chunk_size=64, max_links=3)

Key = tuple[str, int, int]


def key(result: FileResult) -> Key:
    """What must agree: the CID, the file size and the DAG size."""
    return result.cid, result.size, result.tsize


def sequential(data: bytes, profile: CidProfile) -> Key:
    builder = FileBuilder(profile)
    builder.update(data)
    return key(builder.finish())


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4, thread_name_prefix="test-leaves") as executor:
        yield executor


def boundary_sizes(chunk: int, links: int) -> list[int]:
    """Sizes at every chunk and layout boundary the brief names, and one level up."""
    sizes = {0, 1, chunk - 1, chunk, chunk + 1}
    for leaves in (links, links * links):
        sizes |= {leaves * chunk - 1, leaves * chunk, leaves * chunk + 1}
    return sorted(sizes)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.one_of(
        st.sampled_from(boundary_sizes(64, 3)),
        st.integers(min_value=0, max_value=64 * 40),
    ),
    raw=st.booleans(),
    stage_chunks=st.integers(min_value=1, max_value=5),
    in_flight=st.integers(min_value=1, max_value=6),
    hint=st.sampled_from(["exact", "zero", "short", "long"]),
)
def test_stages_give_the_sequential_dag(
    pool: ThreadPoolExecutor,
    tmp_path_factory: pytest.TempPathFactory,
    size: int,
    raw: bool,
    stage_chunks: int,
    in_flight: int,
    hint: str,
) -> None:
    profile = SMALL_RAW if raw else SMALL
    data = content("parallel", size)
    path = tmp_path_factory.mktemp("stages") / "f.bin"
    path.write_bytes(data)
    # A wrong size hint stands for a file that grew or shrank after its fstat:
    # the result must still be the file's bytes to their end.
    size_hint = {"exact": size, "zero": 0, "short": size // 2, "long": 2 * size + 64}[hint]
    builder = FileBuilder(profile)
    fd = os.open(path, os.O_RDONLY)
    try:
        hash_stages(fd, size_hint, builder, pool.submit, in_flight, 64 * stage_chunks)
    finally:
        os.close(fd)
    assert key(builder.finish()) == sequential(data, profile)


@pytest.mark.parametrize("profile", [UNIXFS_V0_2015, UNIXFS_V1_2025], ids=lambda p: p.name)
@pytest.mark.parametrize("workers", [2, 3])
def test_real_profiles_at_chunk_and_layout_boundaries(
    tmp_path: Path, profile: CidProfile, workers: int
) -> None:
    chunk = profile.chunk_size
    sizes = {0, 1, chunk - 1, chunk, chunk + 1}
    if profile is UNIXFS_V0_2015:
        # 174 leaves fill the first parent; one more starts the second level.
        sizes |= {174 * chunk - 1, 174 * chunk, 174 * chunk + 1}
    for size in sorted(sizes):
        data = content("profiles", size)
        path = tmp_path / f"{size}.bin"
        path.write_bytes(data)
        # Stages of two chunks, so even the small sizes cross stage boundaries.
        got = hash_file_parallel(path, profile, workers=workers, stage_size=2 * chunk)
        assert key(got) == sequential(data, profile), size
        assert key(got) == key(hash_file(path, profile)), size
        path.unlink()


def test_v1_layout_boundary_with_a_narrow_v1_profile(tmp_path: Path) -> None:
    # unixfs-v1-2025's own layout boundary is 1 GiB; its shape (raw leaves,
    # CIDv1) with 1024-byte chunks and 1024 links crosses it at 1 MiB.
    profile = get_profile("unixfs-v1-2025", chunk_size=1024)
    for size in (1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1):
        data = content("v1-layout", size)
        path = tmp_path / "f.bin"
        path.write_bytes(data)
        got = hash_file_parallel(path, profile, workers=2, stage_size=64 * 1024)
        assert key(got) == sequential(data, profile), size


def test_a_stage_out_of_order_is_caught() -> None:
    # The oracle above can fail: two stages joined in the wrong order give
    # another CID, though every leaf is right.
    data = content("order", 64 * 8)
    builder = FileBuilder(SMALL)
    builder.add_leaves(leaf_links(SMALL, data[256:]))
    builder.add_leaves(leaf_links(SMALL, data[:256]))
    assert key(builder.finish()) != sequential(data, SMALL)


def test_a_failing_read_fails_the_file_after_its_other_stages_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(content("fail", 64 * 20))
    real = parallel_module._pread_into
    submitted: list[Future[Any]] = []

    def pread_into(fd: int, view: memoryview, offset: int) -> int:
        if offset == 64 * 8:
            raise OSError(5, "Input/output error")
        return real(fd, view, offset)

    monkeypatch.setattr(parallel_module, "_pread_into", pread_into)
    with ThreadPoolExecutor(2) as executor:

        def submit(fn: Callable[..., Any], *args: Any) -> Future[Any]:
            future = executor.submit(fn, *args)
            submitted.append(future)
            return future

        fd = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(OSError, match="Input/output"):
                hash_stages(fd, 64 * 20, FileBuilder(SMALL), submit, 4, 128)
            # Nothing still reads from fd once the error is raised.
            assert all(f.done() for f in submitted)
        finally:
            os.close(fd)


def test_stage_and_flight_are_checked() -> None:
    with pytest.raises(ValueError, match="whole number"):
        hash_stages(0, 0, FileBuilder(SMALL), ThreadPoolExecutor(1).submit, 2, 100)
    with pytest.raises(ValueError, match="in flight"):
        hash_stages(0, 0, FileBuilder(SMALL), ThreadPoolExecutor(1).submit, 0, 128)
    with pytest.raises(ValueError, match="workers"):
        hash_file_parallel(__file__, workers=0)


def test_tree_importer_spreads_large_files_and_agrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    sizes = {"big": 10 * 262144 + 5, "sub/exact": 8 * 262144, "small": 1000, "sub/empty": 0}
    for name, size in sizes.items():
        (root / name).write_bytes(content(name, size))
    spread: list[bytes] = []
    real = hash_file_parallel

    def recording(path: bytes, profile: CidProfile, **kwargs: Any) -> FileResult:
        spread.append(os.path.basename(path))
        return real(path, profile, stage_size=2 * 262144, **kwargs)

    monkeypatch.setattr(tree_module, "hash_file_parallel", recording)
    importer = TreeImporter(recursive=True, hash_workers=2, parallel_min_size=4 * 262144)
    got = {e.path: (e.cid, e.tsize) for e in importer.run([str(root)]) if isinstance(e, TreeEntry)}
    single = TreeImporter(recursive=True, hash_workers=1)
    expected = {
        e.path: (e.cid, e.tsize) for e in single.run([str(root)]) if isinstance(e, TreeEntry)
    }
    assert got == expected
    # The test would prove nothing if no file had taken the parallel path.
    assert sorted(spread) == [b"big", b"exact"]
    data = content("big", sizes["big"])
    assert got[b"tree/big"] == (hash_bytes(data).cid, hash_bytes(data).tsize)
