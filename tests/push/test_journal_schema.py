"""The compact journal (schema 2): exact packing, and schema-1 journals upgraded on open."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkpin.fs import FileIdentity
from bulkpin.journal import SCHEMA_VERSION, Journal, JournalError
from bulkpin.journal.packed import (
    pack_cid,
    pack_date,
    pack_id,
    pack_moment,
    unpack_cid,
    unpack_date,
    unpack_id,
)
from bulkpin.push.account_index import AccountIndex
from bulkpin.push.options import PushOptions
from bulkpin.unixfs import PROFILES, hash_bytes

PROFILE = "unixfs-v0-2015"

# Schema 1 as bulkpin wrote it before issue 17 (push/_schema.py then), with
# every column added to it over time.
V1_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE roots (id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE, cid TEXT, error TEXT);
CREATE TABLE files (
    id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE, display BLOB NOT NULL,
    root INTEGER NOT NULL REFERENCES roots(id), size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, state TEXT NOT NULL, cid TEXT,
    job_id TEXT, pin_date TEXT, attempts INTEGER NOT NULL DEFAULT 0, error TEXT,
    failed_since REAL, updated REAL NOT NULL
);
CREATE INDEX files_state ON files(state);
CREATE INDEX files_cid ON files(cid);
CREATE INDEX files_cid_state ON files(cid, state);
CREATE INDEX files_size ON files(size);
CREATE TABLE runs (id INTEGER PRIMARY KEY, started REAL NOT NULL, finished REAL, status TEXT);
CREATE TABLE account_pins (pin_id TEXT PRIMARY KEY, cid TEXT NOT NULL, size INTEGER, date TEXT);
CREATE INDEX account_pins_cid ON account_pins(cid);
CREATE INDEX account_pins_size ON account_pins(size);
CREATE TABLE account_jobs (cid TEXT NOT NULL, job_id TEXT, status TEXT NOT NULL);
CREATE INDEX account_jobs_cid ON account_jobs(cid);
ALTER TABLE files ADD COLUMN seen_run INTEGER;
ALTER TABLE files ADD COLUMN prefix TEXT;
"""


def _cid(n: int, version: int = 0) -> str:
    profile = PROFILES[PROFILE] if version == 0 else PROFILES["unixfs-v1-2025"]
    return hash_bytes(n.to_bytes(4, "big"), profile).cid


def test_packing_gives_back_the_very_text() -> None:
    v0, v1 = _cid(1), _cid(2, version=1)
    assert v0.startswith("Qm")
    assert v1.startswith("b")
    for cid in (v0, v1):
        packed = pack_cid(cid)
        assert isinstance(packed, bytes)
        assert len(packed) < len(cid)
        assert unpack_cid(packed) == cid
    # Spellings that do not come back exactly stay text.
    for odd in (v1.upper(), "z" + v0, v0[:-1] + "0", "bafy", "Qm" + "l" * 44):
        assert pack_cid(odd) == odd
        assert unpack_cid(pack_cid(odd)) == odd
    job = str(uuid.uuid4())
    assert len(pack_id(job)) == 16
    assert unpack_id(pack_id(job)) == job
    assert pack_id(job.upper()) == job.upper()
    assert pack_id("job-7") == "job-7"
    for date in ("2026-11-29T14:57:13.409000+00:00", "2026-11-29T14:57:13+00:00"):
        assert isinstance(pack_date(date), int)
        assert unpack_date(pack_date(date)) == date
    for date in ("2026-11-29T14:57:13.409+00:00", "2026-11-29T16:57:13+02:00", "2026-11-29"):
        assert pack_date(date) == date


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.one_of(st.none(), st.just(UTC),
                                        st.integers(-50400, 50400).map(
                                            lambda s: timezone(timedelta(seconds=s))))))
def test_a_listed_date_packs_as_its_text_would(when: datetime) -> None:
    # The listing packs the parsed date directly; it must store what packing
    # the date's isoformat() stored, so the two ways agree on every row.
    assert pack_moment(when) == pack_date(when.isoformat())


def _v1_journal(path: Path) -> dict[bytes, tuple[object, ...]]:
    """A schema-1 journal with a file in every state; returns what each row said."""
    conn = sqlite3.connect(path)
    conn.executescript(V1_DDL)
    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                     [("schema", "1"), ("profile", PROFILE)])
    conn.execute("INSERT INTO roots (id, path) VALUES (1, ?)", (b"/data/tree",))
    rows: dict[bytes, tuple[object, ...]] = {}
    states = ["discovered", "uploading", "uploaded", "pinned", "failed", "skipped", "gone"]
    for i in range(40):
        path_ = f"/data/tree/sub{i % 3}/f{i}".encode() if i != 7 else b"/data/tree/\xff\xfe"
        display = path_[len(b"/data/"):] if i % 5 else b"shown elsewhere"
        state = states[i % len(states)]
        cid = None if state in ("discovered", "skipped") else _cid(i, version=i % 2)
        job = str(uuid.uuid4()) if state in ("uploaded", "pinned") else None
        date = "2026-11-29T14:57:13.409000+00:00" if state == "pinned" else None
        row = (path_, display, 1, i, 1000 + i, 50 + i, state, cid, job, date, i % 3,
               "why" if state == "failed" else None, None, 12.5, 1, None)
        conn.execute(
            "INSERT INTO files (path, display, root, size, mtime_ns, inode, state, cid,"
            " job_id, pin_date, attempts, error, failed_since, updated, seen_run, prefix)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        rows[path_] = row
    conn.executemany("INSERT INTO account_pins VALUES (?, ?, ?, ?)",
                     [(str(uuid.uuid4()), _cid(1000 + i), 10 + i, "2026-11-28T00:00:00+00:00")
                      for i in range(5)])
    conn.execute("INSERT INTO account_jobs VALUES (?, ?, 'queued')",
                 (_cid(2000), str(uuid.uuid4())))
    conn.commit()
    conn.close()
    return rows


def test_a_schema_1_journal_is_upgraded_on_open_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    rows = _v1_journal(path)
    with pytest.raises(JournalError, match="older bulkpin"):
        Journal(path, profile_name=PROFILE, read_only=True)
    with Journal(path, profile_name=PROFILE) as j:
        assert j.meta("schema") == SCHEMA_VERSION == "4"
        assert j.meta("kind") == "push"
        seen = {r.path: r for r in j.all_files()}
        assert seen.keys() == rows.keys()
        for path_, (_, display, root, size, mtime_ns, inode, state, cid, job, date, attempts,
                    error, _failed, _updated, seen_run, _prefix) in rows.items():
            r = seen[path_]
            assert (r.display, r.root, r.identity, r.state, r.cid, r.job_id, r.pin_date,
                    r.attempts, r.error, r.seen_run) == (
                display, root, FileIdentity(int(size), int(mtime_ns), int(inode)),  # type: ignore[call-overload]
                state, cid, job, date,
                attempts, error, seen_run)
            assert j.get(path_) == r
        # The CID lookups and the account index answer as they did.
        pinned = next(r for r in seen.values() if r.state == "pinned")
        assert pinned.cid is not None
        assert j.known_cid(pinned.cid) is not None
        index = AccountIndex(j)
        assert index.pin_count() == 5
        assert index.holds(_cid(1002)) is not None
        assert index.has_size(12)
        assert index.holds(_cid(2000)) is not None
        assert not index.has_size(99)
        assert j.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # The per-state counts (kept by triggers) start right and follow changes.
        expected = dict.fromkeys(j.counts(), 0)
        for row in rows.values():
            expected[str(row[6])] += 1
        assert j.counts() == expected
        uploaded = next(r for r in seen.values() if r.state == "uploaded")
        assert uploaded.cid is not None
        j.set_job_status(uploaded.cid, "pinned", None, None)
        j.discover(pinned.path, pinned.display, pinned.root, FileIdentity(1, 2, 3))
        expected["uploaded"] -= 1
        expected["discovered"] += 1
        assert j.counts() == expected
    # Stored compactly: no CID of a packable spelling is left as text.
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM files WHERE typeof(cid) = 'text'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM dirs").fetchone()[0] == 4
    conn.close()
    # Opened again: already schema 2, nothing to do.
    with Journal(path, profile_name=PROFILE, read_only=True) as j:
        assert len(list(j.all_files())) == len(rows)


def test_run_jobs_stay_out_of_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    cid = _cid(5)
    with Journal(path, profile_name=PROFILE) as j:
        index = AccountIndex(j)
        index.record_job(cid, str(uuid.uuid4()), "queued")
        held = index.holds(cid)
        assert held is not None
        assert not held.pinned
        j.commit()
    with Journal(path, profile_name=PROFILE) as j:
        # A new run knows the account's unfinished jobs from its own listing only.
        assert AccountIndex(j).holds(cid) is None


def test_only_files_that_may_stream_are_indexed_by_size(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path, profile_name=PROFILE) as j:
        j.begin_run()
        root = j.root_id(b"/t")
        for i, size in enumerate((4, 65536, 65537, 5 << 20)):
            j.insert_file(b"/t/f%d" % i, b"f%d" % i, root, FileIdentity(size, 1, i), "pinned")
        j.commit()
    conn = sqlite3.connect(path)
    # A journal from before: its index on every size is replaced on open.
    conn.execute("DROP INDEX files_large")
    conn.execute("CREATE INDEX files_size ON files(size)")
    conn.commit()
    with Journal(path, profile_name=PROFILE) as j:
        indexes = {r[0] for r in j.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "files_size" not in indexes
        assert "files_large" in indexes
        # Tiny files cost no index entry: only the two larger than 64 KiB are in it.
        assert j.conn.execute(
            "SELECT COUNT(*) FROM files INDEXED BY files_large WHERE size > 65536"
        ).fetchone()[0] == 2
        # The twin lookup uses that index (a scan of a million rows per file otherwise).
        plan = " ".join(str(r) for r in j.conn.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM files WHERE size = ? AND size > 65536 AND id != ?",
            (5 << 20, 0)))
        assert "files_large" in plan
        assert not j.twin_seen(5 << 20, "p", 0)  # the 5 MiB file has neither prefix nor CID
        assert j.twin_seen(4, "p", 0)  # never looked up so small: "maybe", hash it first
    conn.close()
    # --small-file below the floor still reads such files whole.
    assert PushOptions(small_file=1000).whole_file_max == 65536
    assert PushOptions(small_file=4 << 20).whole_file_max == 4 << 20
