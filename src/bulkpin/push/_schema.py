"""The journal's tables, and the columns added since the first schema.

A journal written by an earlier bulkpin gets the added columns when it is
opened for writing; their absence in a row means "not known".
"""

from __future__ import annotations

import sqlite3

__all__ = ["add_columns"]

_SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    cid TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    display BLOB NOT NULL,
    root INTEGER NOT NULL REFERENCES roots(id),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    state TEXT NOT NULL,
    cid TEXT,
    job_id TEXT,
    pin_date TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    failed_since REAL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_state ON files(state);
CREATE INDEX IF NOT EXISTS files_cid ON files(cid);
-- Thousands of files can share a CID (empty files, copies): lookups by CID
-- and state must not walk all of them, or a large tree costs O(N^2).
CREATE INDEX IF NOT EXISTS files_cid_state ON files(cid, state);
CREATE INDEX IF NOT EXISTS files_size ON files(size);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    status TEXT
);
-- The account index: what the destination holds, as pinList and pinJobs said.
-- Pins by pin id, so a re-listing that overlaps the last one adds nothing and
-- the row count can be held against pinList's Count to notice removals.
CREATE TABLE IF NOT EXISTS account_pins (
    pin_id TEXT PRIMARY KEY,
    cid TEXT NOT NULL,
    size INTEGER,
    date TEXT
);
CREATE INDEX IF NOT EXISTS account_pins_cid ON account_pins(cid);
CREATE INDEX IF NOT EXISTS account_pins_size ON account_pins(size);
-- Jobs not yet final (queued, pinning): replaced whole at every listing.
CREATE TABLE IF NOT EXISTS account_jobs (
    cid TEXT NOT NULL,
    job_id TEXT,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS account_jobs_cid ON account_jobs(cid);
"""

# Columns added after the first schema: (table, column, declaration). A journal
# written before them gets them on open; their absence means "not known".
_ADDED_COLUMNS = (
    # The run that last saw the file: a path met twice in one run is taken once.
    ("files", "seen_run", "INTEGER"),
    # A digest of a large file's first bytes: two files of one size are only
    # possible copies (worth hashing before sending) if these agree too.
    ("files", "prefix", "TEXT"),
    # Remote objects (s3://, URLs; see push.remote_journal): the validators that
    # say an object is unchanged, as its source gave them.
    ("files", "etag", "TEXT"),
    ("files", "version", "TEXT"),
    ("files", "modified", "TEXT"),
)


def add_columns(conn: sqlite3.Connection) -> None:
    """Add to an older journal the columns it lacks."""
    for table, column, decl in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
