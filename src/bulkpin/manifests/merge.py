"""Joining shard manifests into one, with the whole tree's root CID computed from the rows.

Each shard of ``bulkpin push --shard I/N`` writes a manifest of its share of
the files and no root CID (its files are only part of the tree). The merge
takes their file rows, drops their root rows, and computes the root of every
top directory from the file rows alone (:mod:`bulkpin.unixfs.from_listing`):
nothing is read from the tree again, so it runs anywhere the manifests are.

A path in two manifests is kept once when the rows agree (shards all record
the same skipped symlink, or a manifest given twice), and refused otherwise:
two different answers for one file mean the manifests are not of one tree.

A root is only written when every shard is there (a shard's root row says
``I/N``: with ``0/2`` alone, the other half of the tree is missing, and a root
computed from half the files is another tree's) and every file row counts
(pinned or uploaded, with a CID): a failed file, a file not yet sent, a
skipped symlink (a manifest has no link target) each make the root
unknowable, and the first one is named.
Empty directories are in no manifest; a tree that has them has another root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..unixfs import DEFAULT_PROFILE, CidProfile
from ..unixfs.from_listing import ListedFile, ListingError, roots_from_listing
from .rows import ManifestWriter, read_rows

__all__ = ["COUNTED", "MergeConflict", "MergeResult", "MergedRoot", "merge_manifests"]

#: File statuses whose CID is part of the tree's root.
COUNTED = frozenset({"pinned", "uploaded"})

# The columns a root row fills, in push's order; appended when no input had them.
_ROOT_COLUMNS = ("kind", "path", "size", "cid", "job_id", "status", "pin_date", "attempts",
                 "error")

# What the merged root rows leave out: the merge has the whole tree, no shard.
_SHARD_COLUMN = "shard"


class MergeConflict(ValueError):
    """One path with different rows in two manifests (or twice in one)."""


@dataclass(frozen=True, slots=True)
class MergedRoot:
    """A root row of the merged manifest."""

    #: What the root row names: the PATH the shards were pushed from when they
    #: agree on it (as an unsharded push's root row would), else the top name.
    path: str
    cid: str
    size: int
    files: int


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What a merge wrote."""

    manifests: int
    #: File rows written.
    files: int
    #: Rows dropped because another manifest had the same row.
    duplicates: int
    roots: tuple[MergedRoot, ...]
    #: Why no root row was written (names the first path at fault), or None.
    problem: str | None


@dataclass(frozen=True, slots=True)
class _Seen:
    """A file row, as much of it as the merge compares (a million fit in memory)."""

    path: bytes
    size: int | None
    cid: str | None
    status: str | None
    error: str | None
    source: int
    line: int

    def agrees(self, other: _Seen) -> bool:
        return (self.size, self.cid, self.status) == (other.size, other.cid, other.status)


def _top(path: bytes) -> bytes:
    return os.path.basename(path.rstrip(b"/")) or path


def merge_manifests(
    sources: Sequence[Path],
    *,
    output: Path | None = None,
    stream: IO[str] | None = None,
    profile: CidProfile = DEFAULT_PROFILE,
) -> MergeResult:
    """Merge ``sources`` into ``output`` (a manifest path) or ``stream`` (JSON Lines).

    Raises :class:`MergeConflict` before writing anything if two rows for one
    path disagree, and :class:`.ManifestReadError` if a source cannot be read.
    """
    columns: list[str] = []
    seen: list[_Seen] = []
    pushed_from: dict[bytes, set[str]] = {}
    shards: dict[bytes, set[str]] = {}
    for index, source in enumerate(sources):
        for line, row in read_rows(source):
            columns += [c for c in row if c not in columns]
            if row["kind"] == "root":
                top = _top(os.fsencode(row["path"]))
                pushed_from.setdefault(top, set()).add(row["path"])
                shards.setdefault(top, set()).add(str(row.get(_SHARD_COLUMN) or ""))
                continue
            seen.append(_Seen(os.fsencode(row["path"]), row.get("size"), row.get("cid"),
                              row.get("status"), row.get("error"), index, line))
    columns += [c for c in _ROOT_COLUMNS if c not in columns]
    columns = [c for c in columns if c != _SHARD_COLUMN]

    files, dropped = _unique(seen, sources)
    del seen
    roots: tuple[MergedRoot, ...] = ()
    problem = _missing_shards(shards, sources) or _first_uncounted(files)
    if problem is None:
        try:
            listed = roots_from_listing(_listed(files), profile)
        except ListingError as exc:
            problem = str(exc)
        else:
            roots = tuple(
                MergedRoot(_root_path(r.name, pushed_from), r.cid, r.size, r.files)
                for r in listed
            )

    writer = ManifestWriter(columns, path=output, stream=stream)
    try:
        for index, source in enumerate(sources):
            for line, row in read_rows(source):
                if row["kind"] == "file" and (index, line) not in dropped:
                    writer.write(row)
        for root in roots:
            writer.write({"kind": "root", "path": root.path, "size": None, "cid": root.cid,
                          "job_id": None, "status": "computed", "pin_date": None,
                          "attempts": 0, "error": None})
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return MergeResult(len(sources), writer.count - len(roots), len(dropped), roots, problem)


def _unique(seen: list[_Seen], sources: Sequence[Path]) -> tuple[list[_Seen], set[tuple[int, int]]]:
    """The rows with one per path, and ``(source, line)`` of those dropped as copies."""
    # Sorting brings every path's rows together; the first in input order is kept.
    seen.sort(key=lambda s: (s.path, s.source, s.line))
    kept: list[_Seen] = []
    dropped: set[tuple[int, int]] = set()
    for item in seen:
        if kept and kept[-1].path == item.path:
            first = kept[-1]
            if not first.agrees(item):
                raise MergeConflict(
                    f"{os.fsdecode(item.path)}: {sources[first.source]}:{first.line} and "
                    f"{sources[item.source]}:{item.line} disagree (size, cid, status: "
                    f"{first.size}, {first.cid}, {first.status} against "
                    f"{item.size}, {item.cid}, {item.status})"
                )
            dropped.add((item.source, item.line))
            continue
        kept.append(item)
    return kept, dropped


def _missing_shards(shards: dict[bytes, set[str]], sources: Sequence[Path]) -> str | None:
    """Why some top directory's shards do not make a whole tree, or None.

    Raises :class:`MergeConflict` for shards of different splits (``0/2`` with
    ``1/3``): those manifests are not of one run of shards.
    """
    for top, seen in sorted(shards.items()):
        if "" in seen:
            continue  # an unsharded manifest has the whole tree
        counts = {spec.split("/")[1] for spec in seen}
        if len(counts) > 1:
            raise MergeConflict(f"{os.fsdecode(top)}: shards of different splits"
                                f" ({', '.join(sorted(seen))}) in {len(sources)} manifests")
        count = int(counts.pop())
        missing = sorted(set(range(count)) - {int(spec.split("/")[0]) for spec in seen})
        if missing:
            names = ", ".join(f"{i}/{count}" for i in missing)
            return (f"{os.fsdecode(top)}: shard(s) {names} missing; a root needs the manifest"
                    f" of every shard of {count}")
    return None


def _first_uncounted(files: list[_Seen]) -> str | None:
    """Why the root cannot be computed, naming the first such file in input order."""
    bad = [f for f in files if f.status not in COUNTED or not f.cid]
    if not bad:
        return None
    first = min(bad, key=lambda f: (f.source, f.line))
    name = os.fsdecode(first.path)
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    if first.status == "skipped":
        return (f"{name}{more} was skipped by push ({first.error or 'not a regular file'}):"
                " a manifest holds no symlink target or special file, so the tree's root"
                " cannot be computed from it")
    why = f"status {first.status}" + (f": {first.error}" if first.error else "")
    return (f"{name}{more} has no pinned CID ({why}); a root needs every file pinned or"
            " uploaded: push it again, then merge again")


def _listed(files: list[_Seen]) -> Iterator[ListedFile]:
    for f in files:
        assert f.cid is not None
        yield ListedFile(f.path, f.cid, f.size or 0)


def _root_path(name: bytes, pushed_from: dict[bytes, set[str]]) -> str:
    paths = pushed_from.get(name, set())
    return next(iter(paths)) if len(paths) == 1 else os.fsdecode(name)
