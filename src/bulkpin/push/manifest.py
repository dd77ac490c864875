"""The manifest: one row per file saying what ended where, plus each PATH's root CID.

A root row of a ``--shard I/N`` push has no CID and says its shard (``I/N``),
so ``bulkpin manifest merge`` knows whether every shard is there.

Written from the journal at the end of a run (and by ``bulkpin status``), as
JSON Lines or CSV, chosen by the file's extension, in UTF-8. A path that is
not UTF-8 keeps its own bytes in either (``surrogateescape``): ``os.fsencode``
of the path read back with ``errors="surrogateescape"`` gives the original.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

from ..core.errors import PushError
from ..journal import Journal

FIELDS = ("kind", "path", "size", "cid", "job_id", "status", "pin_date", "attempts", "error",
          "shard")

#: The journal's meta key for the share of the tree its last run took (``I/N``, or empty).
SHARD_META = "shard"


class ManifestError(ValueError):
    """A manifest path with an extension we cannot write."""


class ManifestWriteError(PushError):
    """The manifest could not be written (a full disk...); no partial file is left.

    ``remedy`` says how to write it later from the journal, which has every row;
    each kind of run knows its own way.
    """

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.remedy = remedy


def manifest_format(path: Path) -> str:
    """``"jsonl"`` or ``"csv"``, from the file name."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise ManifestError(f"--manifest {path}: use a .jsonl or .csv file name")


def rows(journal: Journal) -> Iterator[dict[str, Any]]:
    """Every manifest row: files in walk order, then one row per PATH argument."""
    for record in journal.all_files():
        yield {
            "kind": "file",
            "path": os.fsdecode(record.display),
            "size": record.size,
            "cid": record.cid,
            "job_id": record.job_id,
            "status": record.state,
            "pin_date": record.pin_date,
            "attempts": record.attempts,
            "error": record.error,
        }
    shard = journal.meta(SHARD_META) or None
    for _, path, cid, error in journal.roots():
        yield {
            # Written as file rows are: the PATH argument's own name, which
            # starts every file row under it.
            "kind": "root", "path": os.fsdecode(os.path.basename(path.rstrip(b"/")) or path),
            "size": None, "cid": cid, "job_id": None,
            "status": "computed" if cid else "none", "pin_date": None, "attempts": 0,
            "error": error, "shard": shard,
        }


def write_manifest(journal: Journal, path: Path) -> int:
    """Write the manifest atomically (temp file + rename); returns the row count."""
    return write_atomically(
        path, partial(_write, journal),
        f"write it once there is room with `bulkpin status --journal {journal.path}"
        f" --manifest {path}`")


def write_atomically(path: Path, write: Callable[[IO[str], str], int], remedy: str) -> int:
    """A manifest at ``path`` from ``write(file, format)`` (temp file + rename); its row count.

    Every kind of run's: a failure (a full disk) leaves no partial file behind
    and is a :class:`ManifestWriteError` that says ``remedy``.
    """
    fmt = manifest_format(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", errors="surrogateescape", newline="") as f:
            count = write(f, fmt)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ManifestWriteError(
            f"cannot write the manifest {path}: {exc.strerror or exc}", remedy) from exc
    return count


def _write(journal: Journal, f: IO[str], fmt: str) -> int:
    count = 0
    if fmt == "jsonl":
        for row in rows(journal):
            # UTF-8 as it is (no \u escapes); a name that is not UTF-8 keeps
            # its own bytes through surrogateescape, as in the CSV.
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    else:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows(journal):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
            count += 1
    return count
