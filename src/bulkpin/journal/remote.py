"""The journal's rows for remote objects (``s3://bucket/key``, ``https://...``).

A remote object is a row of the same ``files`` table as a local file, so the
states, the account index, the poller, ``status`` and the manifest all work
on it unchanged: its ``path`` and ``display`` are the object's URL (the
manifest row names the source), ``mtime_ns`` and ``inode`` are 0, and its
identity is the validators its source gives, kept in the ``etag``,
``version`` and ``modified`` columns (:mod:`.schema`).

An object is unchanged when its size and every validator both sides know
agree: the ETag (S3, HTTP), the version id (versioned buckets) and, for a
URL with no ETag, its ``Last-Modified``. An object with no validator at all
(an HTTP answer with neither) can never be shown unchanged: it is read again.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from ..fs import FileIdentity
from .files import FileRecord, Journal
from .schema import LARGE_ONLY, WHOLE_FILE_FLOOR

__all__ = [
    "RemoteIdentity",
    "discover_remote",
    "record_not_taken",
    "remote_identity",
    "remote_twin",
    "set_size",
    "touch_remote",
]


@dataclass(frozen=True, slots=True)
class RemoteIdentity:
    """What a source says of an object: its size (None: unknown) and validators."""

    size: int | None
    etag: str | None = None
    version: str | None = None
    modified: str | None = None

    def same_as(self, other: RemoteIdentity) -> bool:
        """Whether both describe the same bytes, as far as the validators can tell."""
        if self.size is not None and other.size is not None and self.size != other.size:
            return False
        checked = False
        for mine, theirs in ((self.etag, other.etag), (self.version, other.version)):
            if mine is not None and theirs is not None:
                if mine != theirs:
                    return False
                checked = True
        if not checked and self.modified is not None and other.modified is not None:
            return self.modified == other.modified
        return checked

    def contradicts(self, other: RemoteIdentity) -> bool:
        """Whether the two certainly differ: a size or a validator both know disagrees."""
        pairs = ((self.size, other.size), (self.etag, other.etag),
                 (self.version, other.version), (self.modified, other.modified))
        return any(a is not None and b is not None and a != b for a, b in pairs)

    def merged(self, seen: RemoteIdentity) -> RemoteIdentity:
        """This identity, completed by what a read saw (a version id, the size)."""
        return RemoteIdentity(
            self.size if self.size is not None else seen.size,
            self.etag or seen.etag, self.version or seen.version,
            self.modified or seen.modified,
        )


def remote_identity(journal: Journal, file_id: int) -> RemoteIdentity:
    """The identity recorded for a row (all None for a row never described)."""
    row = journal.conn.execute(
        "SELECT size, etag, version, modified FROM files WHERE id = ?", (file_id,)
    ).fetchone()
    if row is None or (row[1] is None and row[2] is None and row[3] is None):
        return RemoteIdentity(None)
    return RemoteIdentity(int(row[0]), row[1], row[2], row[3])


def touch_remote(journal: Journal, url: str, root: int) -> FileRecord:
    """A URL's row, created if new, marked seen by this run; its identity is left alone.

    For a URL list, whose objects are described only by their first GET.
    """
    key = url.encode("utf-8", "surrogatepass")
    old = journal.get(key)
    if old is None:
        file_id = journal.insert_file(key, key, root, FileIdentity(0, 0, 0), "discovered")
        return dataclasses.replace(journal.get_id(file_id), seen_run=None)
    if old.seen_run != journal.run_id:
        journal._write("UPDATE files SET seen_run = ?, root = ? WHERE id = ?",
                       (journal.run_id, root, old.id))
    return old


def discover_remote(journal: Journal, url: str, root: int,
                    identity: RemoteIdentity) -> FileRecord:
    """Record an object as its source describes it; a changed object starts over.

    Returns the row as it was before this call's ``seen_run`` mark, like
    :meth:`Journal.discover`.
    """
    record = touch_remote(journal, url, root)
    known = remote_identity(journal, record.id)
    if known.same_as(identity):
        if known != known.merged(identity):
            _set_identity(journal, record.id, known.merged(identity))
        return record
    journal._write(
        "UPDATE files SET state = 'discovered', cid = NULL, job_id = NULL, pin_date = NULL,"
        " error = NULL, failed_since = NULL, prefix = NULL, updated = ? WHERE id = ?",
        (time.time(), record.id),
    )
    _set_identity(journal, record.id, identity)
    return dataclasses.replace(journal.get_id(record.id), seen_run=record.seen_run)


def _set_identity(journal: Journal, file_id: int, identity: RemoteIdentity) -> None:
    journal._write(
        "UPDATE files SET size = ?, etag = ?, version = ?, modified = ? WHERE id = ?",
        (identity.size or 0, identity.etag, identity.version, identity.modified, file_id),
    )


def set_size(journal: Journal, file_id: int, size: int) -> None:
    """The size of an object learnt by reading it (a URL with no ``Content-Length``)."""
    journal._write("UPDATE files SET size = ? WHERE id = ?", (size, file_id))


def record_not_taken(journal: Journal, url: str, root: int, state: str, reason: str) -> None:
    """An entry no stage takes (a directory marker, a bad URL line): ``skipped`` or ``failed``."""
    record = touch_remote(journal, url, root)
    journal._write("UPDATE files SET state = ?, error = ?, updated = ? WHERE id = ?",
                   (state, reason, time.time(), record.id))


def remote_twin(journal: Journal, size: int, md5_etag: str | None, exclude_id: int) -> bool:
    """Whether another row may hold the same bytes: same size, and no proof they differ.

    Two S3 objects whose ETags are both plain MD5s (single-part uploads) differ
    if the ETags do; any other ETag (multipart, HTTP's opaque ones) or none
    proves nothing, so the row counts as a possible twin once its content is
    known or being sent (``cid`` or ``prefix`` set).
    """
    if size <= WHOLE_FILE_FLOOR:
        return True  # no size index this small (such objects are read whole): hash first
    row = journal.conn.execute(
        f"SELECT 1 FROM files WHERE size = ? AND {LARGE_ONLY} AND id != ?"  # noqa: S608
        " AND state != 'skipped'"
        " AND (cid IS NOT NULL OR prefix IS NOT NULL)"
        " AND (? IS NULL OR etag IS NULL OR etag LIKE '%-%' OR etag = ?) LIMIT 1",
        (size, exclude_id, md5_etag, md5_etag),
    ).fetchone()
    return row is not None
