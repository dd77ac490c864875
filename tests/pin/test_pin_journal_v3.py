"""A schema-3 pin journal (``pins`` table, ``tests/fixtures/journals/pin-v3``) becomes items.

The fixture was written by main at b8eef8b, with the manifest that bulkpin
wrote of it beside it (``make_journals.py``). Opened by this bulkpin, its CIDs
move into the one items table in one transaction, losing nothing: every
column of ``pins`` reads back, the manifest is the one the old bulkpin wrote,
and a run on it pins what it had not, sending nothing the account holds
(``tests/push/test_journal_fixtures.py``, with the other old journals).
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bulkpin.journal import SCHEMA_VERSION, JournalError, PinJournal, read_found
from bulkpin.journal import schema as schema_module
from bulkpin.migrate import write_pin_manifest
from tests.fixtures.journals import make_journals as made

FIXTURES = Path(made.__file__).parent


def _unpacked(into: Path) -> Path:
    path = into / made.PIN_V3_JOURNAL.removesuffix(".gz")
    with gzip.open(FIXTURES / made.PIN_V3_JOURNAL) as packed, path.open("wb") as raw:
        shutil.copyfileobj(packed, raw)
    return path


def _v3_rows(path: Path) -> dict[str, dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.row_factory = sqlite3.Row
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == "3"
        return {row["cid"]: dict(row) for row in conn.execute("SELECT * FROM pins")}


def _tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_a_v3_pin_journal_becomes_items_losing_nothing(tmp_path: Path) -> None:
    path = _unpacked(tmp_path)
    old = _v3_rows(path)
    assert len(old) == made.PIN_V3_CIDS

    with PinJournal(path) as journal:
        assert journal.meta("schema") == SCHEMA_VERSION == "4"
        records = {record.cid: record for record in journal.all_pins()}
        assert list(records) == sorted(old)  # CID order, as before
        for cid, row in old.items():
            record = records[cid]
            assert record.shown == row["state"]
            for column in ("name", "meta", "source", "origin", "created", "job_id",
                           "discovered_at", "requested_at", "pinned_at", "error", "attempts",
                           "failed_since", "seen_run"):
                assert getattr(record, column) == row[column], (cid, column)
        # A request that had no answer is an item being sent; a refused one failed.
        assert sorted(r.state for r in records.values()) == [
            "discovered", "failed", "pinned", "pinned", "pinned", "uploading"]
        assert journal.counts() == {"discovered": 1, "requested": 1, "pinned": made.PINNED_FIRST,
                                    "failed": 1, "bad": 1}
        write_pin_manifest(journal, tmp_path / "after.jsonl")

    assert "pins" not in _tables(path)
    assert (tmp_path / "after.jsonl").read_text() == (FIXTURES / made.PIN_V3_MANIFEST).read_text()
    found = read_found(path)
    assert found is not None
    assert (found.kind, found.counts) == ("pin", {"discovered": 1, "requested": 1,
                                                  "pinned": made.PINNED_FIRST, "failed": 1})
    assert found.names == sorted({row["source"] for row in old.values()})


def test_status_reads_a_v3_pin_journal_before_any_run_upgrades_it(tmp_path: Path) -> None:
    path = _unpacked(tmp_path)
    found = read_found(path)
    assert found is not None
    assert found.counts == {"discovered": 1, "requested": 1, "pinned": made.PINNED_FIRST,
                            "failed": 1}
    # Read-only, it is not upgraded: it says so rather than showing no CIDs.
    with pytest.raises(JournalError, match="older bulkpin"):
        PinJournal(path, read_only=True)
    assert _v3_rows(path)


def test_an_upgrade_cut_short_leaves_the_v3_journal_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _unpacked(tmp_path)
    before = _v3_rows(path)
    moved = 0
    real = schema_module.pin_display

    def failing(name: str | None) -> str | int:
        nonlocal moved
        moved += 1
        if moved == 4:  # part-way: three CIDs are items already
            raise sqlite3.OperationalError("disk I/O error")
        return real(name)

    monkeypatch.setattr(schema_module, "pin_display", failing)
    with pytest.raises(JournalError, match="disk I/O error"):
        PinJournal(path)
    assert moved == 4
    assert _v3_rows(path) == before
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM files").fetchone() == (0,)

    monkeypatch.setattr(schema_module, "pin_display", real)
    with PinJournal(path) as journal:  # the next open upgrades it whole
        assert journal.counts()["pinned"] == made.PINNED_FIRST
