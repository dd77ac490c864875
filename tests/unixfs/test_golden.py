"""Parity with the reference importer: the vectors in tests/golden/vectors.json.gz.

They were produced by the npm package ipfs-unixfs-importer, configured as kubo
is (see tests/golden/README.md); these tests only read them and never need Node.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bulkpin.unixfs import TreeEntry, TreeImporter, get_profile, hash_bytes, symlink_link
from bulkpin.unixfs.file_builder import file_tsize
from bulkpin.unixfs.node import cid_to_str
from bulkpin.unixfs.profiles import CidProfile

from .content import from_spec

VECTORS: dict[str, Any] = json.loads(
    gzip.decompress((Path(__file__).parent.parent / "golden" / "vectors.json.gz").read_bytes())
)


def _profile(vector: dict[str, Any]) -> CidProfile:
    params = vector["params"]
    return get_profile(
        vector["profile"],
        chunk_size=params["chunk_size"],
        max_links=params["max_links"],
        raw_leaves=params["raw_leaves"],
        cid_version=params["cid_version"],
    )


@pytest.mark.parametrize("vector", VECTORS["files"], ids=lambda v: v["name"])
def test_file_cid_matches_reference(vector: dict[str, Any]) -> None:
    result = hash_bytes(from_spec(vector["content"]), _profile(vector))
    assert result.cid == vector["cid"]
    assert result.tsize == vector["tsize"]
    assert result.size == vector["content"]["size"]
    # The DAG size follows from the size alone: push links files known by CID.
    assert file_tsize(result.size, _profile(vector)) == vector["tsize"]


@pytest.mark.parametrize("vector", VECTORS["symlinks"], ids=lambda v: v["name"])
def test_symlink_cid_matches_reference(vector: dict[str, Any]) -> None:
    profile = get_profile("unixfs-v0-2015", cid_version=vector["cid_version"])
    link = symlink_link(vector["target"].encode(), profile)
    assert cid_to_str(link.cid) == vector["cid"]


def _materialize(base: Path, entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        path = base / entry["path"]
        if entry["type"] == "dir":
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(from_spec(entry["content"]))


@pytest.mark.parametrize("vector", VECTORS["trees"], ids=lambda v: v["name"])
def test_tree_cids_match_reference(vector: dict[str, Any], tmp_path: Path) -> None:
    _materialize(tmp_path, vector["entries"])
    importer = TreeImporter(_profile(vector), recursive=True, hidden=vector["hidden"])
    results = list(importer.run([str(tmp_path / vector["root"])]))
    errors = [r for r in results if not isinstance(r, TreeEntry)]
    assert errors == []
    got = {os.fsdecode(r.path): r.cid for r in results if isinstance(r, TreeEntry)}
    assert got == vector["cids"]
    # ipfs add prints the root last.
    assert results[-1].cid == vector["root_cid"]  # type: ignore[union-attr]
