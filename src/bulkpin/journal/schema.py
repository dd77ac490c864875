"""The journal's tables, and how a journal written by an earlier bulkpin is brought up to date.

One schema for every kind of journal (``meta.kind``: ``push``, ``pin``,
``verify``): each uses its own tables and leaves the others empty, so one
version number and one chain of upgrades covers them all.

Schema 2 is sized for millions of files (issue 17: under 300 bytes a file):

- a file's path is its directory (a row of ``dirs``, shared by its siblings)
  and its name; its display name, when it is the path's tail, is only the
  offset where that tail starts;
- CIDs, job and pin ids and dates are packed (:mod:`._packed`);
- the account's pins are one table keyed by (CID, pin id), with no second
  index: the lookup by CID is the key's prefix; the sizes a large file may be
  a copy of are a table of distinct sizes;
- jobs this run created live in a TEMP table (:mod:`.account_index`): every
  run lists the account's unfinished jobs anew, so keeping them is no use.

Schema 3 takes in what ``pin`` and ``verify`` used to add outside the
version (their tables, created on open, and a kind told by the ``profile``
key: ``pinByHash``, ``verify``): the tables are part of it, and the kind is
``meta.kind``.

Schema 4 has one items table: ``pin``'s CIDs are rows of ``files``, as push's
files and objects are, with the same states and job transitions
(:mod:`.jobs`), where schema 3 kept them in a ``pins`` table of their own. A
CID's row is keyed by the CID (the name, under the one directory ``''``); its
display is the source's name for it; its root is its source (``roots.path``,
as a push's PATH); what the source said of it is its ``modified`` (a PSA's
``created``); ``requested`` is ``uploading`` until pinByHash answers and
``uploaded`` after; the rest (origin, meta, dates) is ``pin_facts``.

On open for writing a journal is brought up to date one version at a time
(:func:`upgrade`): schema 1 is rewritten as schema 2 (columns added to schema 1
over time are added first; their absence means "not known"), schema 2 gains
the tables and its kind, schema 3's ``pins`` become items.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from typing import Literal

from .errors import JournalError
from .packed import pack_cid, pack_date, pack_id

__all__ = [
    "KINDS", "LARGE_ONLY", "PIN_DIR", "PIN_READABLE_VERSIONS", "READABLE_VERSIONS", "SCHEMA",
    "SCHEMA_VERSION", "UPGRADABLE_VERSIONS",
    "WHOLE_FILE_FLOOR", "Kind", "create", "kind_of", "pack_display", "pin_display", "split_path",
    "upgrade",
    "version_of",
]

SCHEMA_VERSION = "4"
#: Versions a read-only open reads as they are (no table it reads differs)...
READABLE_VERSIONS = ("2", "3", SCHEMA_VERSION)
#: ... but for a pin journal, whose CIDs were in ``pins`` before schema 4.
PIN_READABLE_VERSIONS = (SCHEMA_VERSION,)
#: Versions an open for writing brings up to date (:func:`upgrade`).
UPGRADABLE_VERSIONS = ("1", *READABLE_VERSIONS)
#: The directory of a pin journal's items: a CID's key is the CID alone.
PIN_DIR = b""

Kind = Literal["push", "pin", "verify"]
KINDS: tuple[Kind, ...] = ("push", "pin", "verify")
#: How schema 2 told a journal that was not a push's: by its ``profile``.
_V2_KIND_PROFILES: dict[str, Kind] = {"pinByHash": "pin", "verify": "verify"}
#: Files up to this size are always read whole and hashed first, so only larger
#: ones are in SCHEMA's files_large.
WHOLE_FILE_FLOOR = 65536
#: files_large's condition, which a lookup by size repeats so SQLite uses it.
LARGE_ONLY = f"size > {WHOLE_FILE_FLOOR}"

# Columns typed BLOB keep what they are given: packed bytes, or the text of a
# value that does not pack exactly (see ._packed). Integers hold packed dates.
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE,
    cid TEXT,
    error TEXT
);
-- Every directory's path, up to and with its last '/': a file's path is
-- dirs.path || files.name. Siblings share the row, so a deep tree of a million
-- files does not store its prefix a million times (twice: row and index).
CREATE TABLE IF NOT EXISTS dirs (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    dir INTEGER NOT NULL REFERENCES dirs(id),
    name BLOB NOT NULL,
    -- What the user is shown; an INTEGER n when it is the path from byte n on.
    display BLOB NOT NULL,
    root INTEGER NOT NULL REFERENCES roots(id),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    state TEXT NOT NULL,
    cid BLOB,
    job_id BLOB,
    pin_date BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    failed_since REAL,
    updated REAL NOT NULL,
    -- The run that last saw the file: a path met twice in one run is taken once.
    seen_run INTEGER,
    -- A digest of a large file's first bytes: two files of one size are only
    -- possible copies (worth hashing before sending) if these agree too.
    prefix TEXT,
    -- Remote objects (s3://, URLs; see push.remote_journal): the validators
    -- that say an object is unchanged, as its source gave them.
    etag TEXT,
    version TEXT,
    modified TEXT,
    UNIQUE (dir, name)
);
-- Files by state, but only those not pinned: in a finished journal almost
-- every row is pinned, and queries for the others say "state <> 'pinned'" in
-- so many words (SQLite uses a partial index only for a term it can see).
CREATE INDEX IF NOT EXISTS files_open ON files(state) WHERE state <> 'pinned';
-- Thousands of files can share a CID (empty files, copies): lookups by CID
-- and state must not walk all of them, or a large tree costs O(N^2). Lookups
-- by CID alone use its prefix.
CREATE INDEX IF NOT EXISTS files_cid_state ON files(cid, state);
-- Files by size, only those larger than WHOLE_FILE_FLOOR: a possible copy is
-- looked up by size only for a file that streams, and a file that small is
-- always read whole (PushOptions.whole_file_max). A tree of tiny files kept
-- 11 bytes a file here for nothing. Journals from before lose the full index.
DROP INDEX IF EXISTS files_size;
CREATE INDEX IF NOT EXISTS files_large ON files(size) WHERE {LARGE_ONLY};
-- Files per state, kept by triggers: the poller shows the pinned count every
-- round, and counting a million rows each second slowed a large push down.
CREATE TABLE IF NOT EXISTS state_counts (
    state TEXT PRIMARY KEY,
    n INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS files_counted_in AFTER INSERT ON files BEGIN
    INSERT INTO state_counts VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS files_counted_moved AFTER UPDATE OF state ON files
    WHEN OLD.state IS NOT NEW.state BEGIN
    UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO state_counts VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS files_counted_out AFTER DELETE ON files BEGIN
    UPDATE state_counts SET n = n - 1 WHERE state = OLD.state;
END;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    status TEXT
);
-- The account index: what the destination holds, as pinList and pinJobs said.
-- A pin once, however often re-listed, so the row count can be held against
-- pinList's Count to notice removals; found by CID, the key's prefix.
CREATE TABLE IF NOT EXISTS account_pins (
    cid BLOB NOT NULL,
    pin_id BLOB NOT NULL,
    size INTEGER,
    date BLOB,
    PRIMARY KEY (cid, pin_id)
) WITHOUT ROWID;
-- The sizes of the account's pins: a large file of one of them may be a copy.
CREATE TABLE IF NOT EXISTS account_sizes (size INTEGER PRIMARY KEY);
-- Jobs not yet final (queued, pinning): replaced whole at every listing.
CREATE TABLE IF NOT EXISTS account_jobs (
    cid BLOB NOT NULL,
    job_id BLOB,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS account_jobs_cid ON account_jobs(cid);
-- Files waiting on a job the account had before this journal sent them: a
-- hint, not a holding (it may fail where nobody has the content); if it does,
-- the file is uploaded after all. Usually empty.
CREATE TABLE IF NOT EXISTS hinted (file_id INTEGER PRIMARY KEY);
-- What a pin journal knows of its CIDs besides their item row (journal.pins):
-- where the source listed each, its PSA meta, and when it was seen, sent and
-- pinned. One row per item of a pin journal, by the item's id; none in push's.
CREATE TABLE IF NOT EXISTS pin_facts (
    id INTEGER PRIMARY KEY REFERENCES files(id),
    origin TEXT NOT NULL,
    meta TEXT,
    discovered_at REAL NOT NULL,
    requested_at REAL,
    pinned_at REAL
);
-- Lines of a pin source that are no CID, by source and line.
CREATE TABLE IF NOT EXISTS pin_bad_lines (
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    origin TEXT NOT NULL,
    text TEXT NOT NULL,
    reason TEXT NOT NULL,
    seen_run INTEGER,
    PRIMARY KEY (source, line)
);
-- What a verification proved of each CID (journal.verified).
CREATE TABLE IF NOT EXISTS verified (
    cid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size INTEGER,
    outcome TEXT,
    gateway TEXT,
    ttfb REAL,
    bytes_per_second REAL,
    bytes INTEGER,
    missing TEXT,
    failures TEXT,
    reason TEXT,
    checked_at REAL,
    proven_at REAL,
    seen_run INTEGER
);
CREATE INDEX IF NOT EXISTS verified_seen ON verified(seen_run, outcome);
CREATE TABLE IF NOT EXISTS verify_changed (
    path BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    pushed_cid TEXT NOT NULL,
    disk_cid TEXT,
    reason TEXT NOT NULL,
    seen_run INTEGER
);
"""  # noqa: S608 - constants only

# Columns added to schema 1 over time: (table, column, declaration). A journal
# written before them gets them before it is upgraded.
_V1_ADDED = (
    ("files", "seen_run", "INTEGER"),
    ("files", "prefix", "TEXT"),
    ("files", "etag", "TEXT"),
    ("files", "version", "TEXT"),
    ("files", "modified", "TEXT"),
)

_V1_FILE_COLUMNS = (
    "id, path, display, root, size, mtime_ns, inode, state, cid, job_id, pin_date, attempts,"
    " error, failed_since, updated, seen_run, prefix, etag, version, modified"
)
_V2_FILE_COLUMNS = (
    "id, dir, name, display, root, size, mtime_ns, inode, state, cid, job_id, pin_date,"
    " attempts, error, failed_since, updated, seen_run, prefix, etag, version, modified"
)


def split_path(path: bytes) -> tuple[bytes, bytes]:
    """``(directory up to and with its last '/', name)``: the two join back to ``path``."""
    cut = path.rfind(b"/") + 1
    return path[:cut], path[cut:]


def pack_display(path: bytes, display: bytes) -> bytes | int:
    """The display name, or where it starts in ``path`` when it is the path's tail."""
    if display and path.endswith(display):
        return len(path) - len(display)
    return display


def _maybe(value: object, pack: object) -> object:
    return None if value is None else pack(value)  # type: ignore[operator]


def _v1_rows(conn: sqlite3.Connection) -> Iterator[tuple[object, ...]]:
    dirs: dict[bytes, int] = {}
    last = 0
    while True:
        rows = conn.execute(
            f"SELECT {_V1_FILE_COLUMNS} FROM v1_files WHERE id > ? ORDER BY id LIMIT 5000",  # noqa: S608
            (last,),
        ).fetchall()
        if not rows:
            return
        for (file_id, stored, display, root, size, mtime_ns, inode, state, cid, job_id, pin_date,
             *rest) in rows:
            path = bytes(stored)
            head, name = split_path(path)
            dir_id = dirs.get(head)
            if dir_id is None:
                dir_id = dirs[head] = len(dirs) + 1
                conn.execute("INSERT INTO dirs (id, path) VALUES (?, ?)", (dir_id, head))
            yield (file_id, dir_id, name, pack_display(path, bytes(display)), root, size,
                   mtime_ns, inode, state, _maybe(cid, pack_cid), _maybe(job_id, pack_id),
                   pack_date(pin_date), *rest)
        last = int(rows[-1][0])


def create(conn: sqlite3.Connection) -> None:
    """Create what is missing of the schema, statement by statement.

    Not ``executescript``: it commits first, and :func:`upgrade` must stay
    one transaction.
    """
    statement = ""
    for line in SCHEMA.splitlines(keepends=True):
        statement += line
        # A trigger's body holds statements of its own: it ends at END;.
        if line.rstrip().endswith(";") and (
            "CREATE TRIGGER" not in statement or line.strip() == "END;"
        ):
            conn.execute(statement)
            statement = ""


def is_v1(conn: sqlite3.Connection) -> bool:
    """Whether this is a schema-1 journal (files keyed by their whole path)."""
    return "path" in {row[1] for row in conn.execute("PRAGMA table_info(files)")}


def kind_of(meta: Mapping[str, str]) -> Kind:
    """The kind of journal its ``meta`` says, schema 2's way (``profile``) or schema 3's."""
    kind = meta.get("kind")
    if kind in KINDS:
        return kind
    return _V2_KIND_PROFILES.get(meta.get("profile", ""), "push")


def version_of(conn: sqlite3.Connection) -> str | None:
    """The journal's schema version; None for a new, empty file."""
    if is_v1(conn):
        return "1"
    have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in have:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    # Schema 1 wrote no version; every later one does.
    return "2" if row is None else str(row[0])


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring the journal up to the current schema, one version at a time, in one transaction.

    The caller's transaction: a crash part-way leaves the journal as it was.
    """
    version = version_of(conn)
    if version == "1":
        _v1_to_v2(conn)
        version = "2"
    create(conn)
    if version == "2":
        _v2_to_v3(conn)
    if version in ("2", "3"):
        _v3_to_v4(conn)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))


#: Schema 3's pins, as schema 4's items take them (their rowid: the order they came in).
_V3_PIN_COLUMNS = (
    "cid, name, meta, source, origin, created, state, answered, job_id, discovered_at,"
    " requested_at, pinned_at, error, attempts, failed_since, seen_run, updated"
)


def _pin_item_state(state: str, *, answered: bool) -> str:
    """A schema-3 pin's state as an item's: ``requested`` is ``uploaded`` once answered."""
    if state == "requested":
        return "uploaded" if answered else "uploading"
    return state


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    """Schema 3's ``pins`` (a push journal's is empty) become rows of ``files``, losing nothing."""
    have = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "pins" not in have:
        return
    dir_id: int | None = None
    roots: dict[str, int] = {}
    for (cid, name, meta, source, origin, created, state, answered, job_id, discovered_at,
         requested_at, pinned_at, error, attempts, failed_since, seen_run,
         updated) in conn.cursor().execute(
            f"SELECT {_V3_PIN_COLUMNS} FROM pins ORDER BY rowid"):  # noqa: S608 - constant
        if dir_id is None:
            dir_id = int(conn.execute("INSERT INTO dirs (path) VALUES (?)",
                                      (PIN_DIR,)).lastrowid or 0)
        root = roots.get(source)
        if root is None:
            root = roots[source] = int(conn.execute(
                "INSERT INTO roots (path) VALUES (?)", (source.encode("utf-8", "surrogatepass"),)
            ).lastrowid or 0)
        item = conn.execute(
            "INSERT INTO files (dir, name, display, root, size, mtime_ns, inode, state, cid,"
            " job_id, attempts, error, failed_since, updated, seen_run, modified)"
            " VALUES (?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (dir_id, cid.encode(), pin_display(name), root,
             _pin_item_state(state, answered=bool(answered)), pack_cid(cid),
             _maybe(job_id, pack_id), attempts, error, failed_since, int(updated), seen_run,
             created),
        ).lastrowid
        conn.execute("INSERT INTO pin_facts VALUES (?, ?, ?, ?, ?, ?)",
                     (item, origin, meta, discovered_at, requested_at, pinned_at))
    conn.execute("DROP TABLE pins")


def pin_display(name: str | None) -> str | int:
    """A CID's display: the source's name for it, or 0 (its key: the CID) for none."""
    return 0 if name is None else name


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    """The kind moves from ``profile`` to ``kind`` (the tables are :func:`create`'s)."""
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    kind = kind_of(meta)
    if meta.get("verify_schema", "1") != "1":
        raise JournalError(f"written by an incompatible bulkpin (verification schema"
                           f" {meta['verify_schema']})")
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('kind', ?)", (kind,))
    if kind != "push":
        # Not a CID profile, and what a push journal's profile is checked against.
        conn.execute("DELETE FROM meta WHERE key IN ('profile', 'verify_schema')")


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Rewrite a schema-1 journal as schema 2, in the caller's transaction.

    Nothing is lost: every row is copied, its values packed where exact. A
    crash part-way leaves the schema-1 journal as it was.
    """
    for table, column, decl in _V1_ADDED:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    for old in ("files", "account_pins", "account_jobs"):
        conn.execute(f"ALTER TABLE {old} RENAME TO v1_{old}")
    for index in ("files_state", "files_cid", "files_cid_state", "files_size",
                  "account_pins_cid", "account_pins_size", "account_jobs_cid"):
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    create(conn)
    marks = ",".join("?" * 21)
    conn.executemany(
        f"INSERT INTO files ({_V2_FILE_COLUMNS}) VALUES ({marks})",  # noqa: S608
        _v1_rows(conn),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO account_pins VALUES (?, ?, ?, ?)",
        ((pack_cid(cid), pack_id(pin_id), size, pack_date(date))
         for pin_id, cid, size, date in conn.cursor().execute(
             "SELECT pin_id, cid, size, date FROM v1_account_pins")),
    )
    conn.execute("INSERT OR IGNORE INTO account_sizes SELECT DISTINCT size FROM v1_account_pins"
                 " WHERE size IS NOT NULL")
    conn.executemany(
        "INSERT INTO account_jobs VALUES (?, ?, ?)",
        ((pack_cid(cid), _maybe(job_id, pack_id), status) for cid, job_id, status in
         conn.cursor().execute("SELECT cid, job_id, status FROM v1_account_jobs")),
    )
    for old in ("files", "account_pins", "account_jobs"):
        conn.execute(f"DROP TABLE v1_{old}")
