"""The manifest of a ``pin`` run: one row per CID (and per bad line), JSON Lines or CSV.

Written from the journal at the end of a run, atomically, by push's writer
(:func:`bulkpin.push.manifest.write_atomically`: the format follows the file's
extension; a full disk leaves no partial file and the run says how to write
it later). Dates are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any, Final

from ..journal import PinJournal
from ..push.manifest import write_atomically

__all__ = ["PIN_MANIFEST_FIELDS", "pin_manifest_rows", "write_pin_manifest"]

PIN_MANIFEST_FIELDS: Final = (
    "kind", "source", "origin", "name", "cid", "job_id", "status", "discovered",
    "requested", "pinned", "attempts", "error", "meta", "text",
)


def _date(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def pin_manifest_rows(journal: PinJournal) -> Iterator[dict[str, Any]]:
    """Every row: CIDs in CID order, then the bad lines."""
    for record in journal.all_pins():
        yield {
            "kind": "pin", "source": record.source, "origin": record.origin,
            "name": record.name, "cid": record.cid, "job_id": record.job_id,
            "status": record.shown, "discovered": _date(record.discovered_at),
            "requested": _date(record.requested_at), "pinned": _date(record.pinned_at),
            "attempts": record.attempts, "error": record.error, "text": None,
            "meta": json.loads(record.meta) if record.meta else None,
        }
    for bad in journal.bad_lines():
        yield {
            "kind": "bad_line", "source": bad.source, "origin": f"{bad.origin}:{bad.line}",
            "name": None, "cid": None, "job_id": None, "status": "failed", "discovered": None,
            "requested": None, "pinned": None, "attempts": 0,
            "error": bad.reason, "text": bad.text, "meta": None,
        }


def write_pin_manifest(journal: PinJournal, path: Path) -> int:
    """Write the manifest (temp file + rename, as push's); returns the row count."""
    return write_atomically(
        path, partial(_write, journal),
        "run the same `bulkpin pin` again with --manifest once there is room (what is"
        " pinned is not requested again; the manifest is written from the journal)")


def _write(journal: PinJournal, f: IO[str], fmt: str) -> int:
    writer = csv.DictWriter(f, fieldnames=PIN_MANIFEST_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    for row in pin_manifest_rows(journal):
        if writer is None:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            row["meta"] = json.dumps(row["meta"], ensure_ascii=False) if row["meta"] else None
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        count += 1
    return count
