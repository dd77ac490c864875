"""Reading and writing manifest rows, JSON Lines or CSV, as ``bulkpin push`` writes them.

Rows are dicts in the JSON form (numbers as ints, absent values as None)
whichever format they came from, so a merge of JSONL and CSV shards compares
like with like. Columns are not fixed here: a reader keeps every column it
finds, so a manifest with a column this module has never heard of passes
through a merge intact.

Paths that are not UTF-8: ``bulkpin push`` writes their undecodable bytes as
lone-surrogate escapes in JSON and as the raw bytes in CSV; both read back
here as the same ``str``, and ``os.fsencode`` of it gives the original bytes.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["Format", "ManifestReadError", "ManifestWriter", "format_of", "read_rows"]

Format = Literal["jsonl", "csv"]

#: Columns whose CSV text is a number in the JSON form of a row.
_INT_COLUMNS = frozenset({"size", "attempts"})


class ManifestReadError(ValueError):
    """A manifest that cannot be read: unknown extension, bad JSON, a row without a path."""


def format_of(path: Path) -> Format:
    """``"jsonl"`` or ``"csv"``, from the file name (as ``push --manifest`` chooses)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise ManifestReadError(f"{path}: not a manifest name (use .jsonl or .csv)")


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` for every row of the manifest at ``path``."""
    fmt = format_of(path)
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as f:
        if fmt == "jsonl":
            yield from _jsonl_rows(path, f)
        else:
            yield from _csv_rows(path, f)


def _jsonl_rows(path: Path, f: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ManifestReadError(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise ManifestReadError(f"{path}:{number}: not a JSON object")
        yield number, _checked(path, number, row)


def _csv_rows(path: Path, f: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(f)
    for raw in reader:
        number = reader.line_num
        if None in raw:
            raise ManifestReadError(f"{path}:{number}: more fields than the header names")
        row: dict[str, Any] = {}
        for column, text in raw.items():
            # CSV has no null: push writes None as "", so "" reads back as None.
            value: Any = None if text in ("", None) else text
            if value is not None and column in _INT_COLUMNS:
                try:
                    value = int(value)
                except ValueError:
                    raise ManifestReadError(
                        f"{path}:{number}: {column} {value!r} is not a number"
                    ) from None
            row[column] = value
        yield number, _checked(path, number, row)


def _checked(path: Path, number: int, row: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(row.get("path"), str) or not row["path"]:
        raise ManifestReadError(f"{path}:{number}: a row without a path")
    if row.get("kind") not in ("file", "root"):
        raise ManifestReadError(f"{path}:{number}: kind {row.get('kind')!r} is not file or root")
    size = row.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise ManifestReadError(f"{path}:{number}: size {size!r} is not a number")
    return row


class ManifestWriter:
    """Rows to a manifest file, written atomically, or to a stream.

    To a file: a temporary file beside it, fsynced and renamed over it on
    :meth:`commit`, so a reader never sees half a manifest, and the output may
    be one of the inputs. CSV needs every column before the first row, hence
    ``columns``.
    """

    def __init__(self, columns: Sequence[str], path: Path | None = None,
                 stream: IO[str] | None = None, fmt: Format | None = None) -> None:
        if (path is None) == (stream is None):
            raise ValueError("give a path or a stream")
        self.columns = list(columns)
        self.path = path
        self.format: Format = fmt or (format_of(path) if path is not None else "jsonl")
        self._tmp: Path | None = None
        if path is not None:
            self._tmp = path.with_name(f".{path.name}.tmp")
            self._out: IO[str] = self._tmp.open(
                "w", encoding="utf-8", errors="surrogateescape", newline=""
            )
        else:
            assert stream is not None
            self._out = stream
        self._csv: Any = None
        if self.format == "csv":
            self._csv = csv.DictWriter(self._out, fieldnames=self.columns)
            self._csv.writeheader()
        self.count = 0

    def write(self, row: dict[str, Any]) -> None:
        """Write one row; columns it lacks are written empty (null)."""
        full = {column: row.get(column) for column in self.columns}
        if self._csv is not None:
            self._csv.writerow({k: "" if v is None else v for k, v in full.items()})
        else:
            # ensure_ascii (the default) escapes lone surrogates, as push writes them.
            self._out.write(json.dumps(full) + "\n")
        self.count += 1

    def commit(self) -> None:
        """Finish: flush, and for a file, fsync and rename into place."""
        self._out.flush()
        if self._tmp is not None and self.path is not None:
            os.fsync(self._out.fileno())
            self._out.close()
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        """Give up: remove the temporary file, leave any existing manifest alone."""
        if self._tmp is not None:
            self._out.close()
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
