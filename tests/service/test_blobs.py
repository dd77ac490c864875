"""The blob store on its own: what a commit leaves behind, including when it fails."""

from __future__ import annotations

import mmap
from pathlib import Path

import pytest

from bulkpin.service.blobs import BlobStore, MemoryBlob
from bulkpin.unixfs import hash_bytes
from bulkpin.unixfs.profiles import PROFILES

V1 = "unixfs-v1-2025"


def _memory_blob(store: BlobStore, data: bytes) -> MemoryBlob:
    buffer = mmap.mmap(-1, max(len(data), 1))
    buffer[: len(data)] = data
    return MemoryBlob(store, buffer, len(data))


def _leftovers(root: Path) -> list[Path]:
    return sorted((root / "tmp").iterdir())


def test_a_memory_blob_is_written_under_its_cid_and_freed(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"held in memory" * 100
    cid = hash_bytes(data).cid
    blob = _memory_blob(store, data)
    path = blob.commit(cid)
    assert path == store.path_for(cid)
    assert path.read_bytes() == data
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="closed"):
        blob.view()  # committing freed the bytes
    blob.discard()  # and discarding again is harmless


def test_a_memory_blob_keeps_a_stored_blob_of_its_size(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"same bytes"
    cid = hash_bytes(data).cid
    first = _memory_blob(store, data).commit(cid)
    inode = first.stat().st_ino
    assert _memory_blob(store, data).commit(cid).stat().st_ino == inode
    assert _leftovers(tmp_path) == []


def test_a_failed_commit_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"nowhere to go"
    cid = hash_bytes(data).cid
    # A file where the CID's directory should be: the rename cannot happen.
    store.path_for(cid).parent.write_bytes(b"in the way")
    blob = _memory_blob(store, data)
    with pytest.raises(OSError, match=r"File exists|Not a directory"):
        blob.commit(cid)
    assert _leftovers(tmp_path) == []
    blob.discard()


def test_a_memory_blob_hashes_again_under_another_profile(tmp_path: Path) -> None:
    data = b"x" * 300_000
    blob = _memory_blob(BlobStore(tmp_path), data)
    assert blob.rehash(PROFILES[V1]).cid == hash_bytes(data, PROFILES[V1]).cid
    assert blob.rehash(PROFILES[V1]).cid != hash_bytes(data).cid
    blob.discard()
