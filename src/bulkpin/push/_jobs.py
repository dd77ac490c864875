"""The journal's job columns: what polling ``pinJobs`` learns about uploaded files.

A job's status applies to every uploaded file of its CID. ``failed`` is not
final at once (Decoo retries failed jobs): ``failed_since`` remembers when it
was first seen, the file is given up on after the wait timeout, and a late
``pinned`` still revives it.
"""

from __future__ import annotations

import time

from ._packed import pack_cid, pack_id, unpack_cid
from ._store import JournalStore

__all__ = ["JobColumns"]


class JobColumns(JournalStore):
    """The state transitions the poller drives (see :class:`~.journal.Journal`)."""

    def set_job_status(self, cid: str, status: str, job_id: str | None, error: str | None) -> int:
        """Apply a polled job status to every uploaded file with this CID.

        ``failed_since`` remembers when the job was first seen failed, because a
        failed Decoo job may still be retried and become ``pinned``.
        """
        now = time.time()
        key = pack_cid(cid)
        job = None if job_id is None else pack_id(job_id)
        if status == "pinned":
            cursor = self._write(
                # Also revives files given up on after their job failed: Decoo
                # retries failed jobs, and a late success is still a success.
                "UPDATE files SET state = 'pinned', job_id = COALESCE(?, job_id), error = NULL,"
                " failed_since = NULL, updated = ? WHERE cid = ? AND (state = 'uploaded'"
                " OR (state = 'failed' AND failed_since IS NOT NULL))",
                (job, int(now), key),
            )
        elif status == "failed":
            cursor = self._write(
                "UPDATE files SET job_id = COALESCE(?, job_id), error = ?,"
                " failed_since = COALESCE(failed_since, ?), updated = ?"
                " WHERE cid = ? AND state = 'uploaded'",
                (job, error, now, int(now), key),
            )
        else:
            cursor = self._write(
                "UPDATE files SET job_id = COALESCE(?, job_id), failed_since = NULL, updated = ?"
                " WHERE cid = ? AND state = 'uploaded'",
                (job, int(now), key),
            )
        return cursor.rowcount

    def hinted_cids(self) -> set[str]:
        """CIDs of files waiting on a job this journal did not make (see ``hinted``)."""
        return {
            unpack_cid(r[0]) for r in self.conn.execute(
                "SELECT DISTINCT files.cid FROM hinted JOIN files ON files.id = hinted.file_id"
                " WHERE files.state = 'uploaded' AND files.state <> 'pinned'"
            )
        }

    def revive_hinted(self, cid: str) -> list[int]:
        """The account's own job for ``cid`` failed: its waiting files are to be uploaded.

        Returns their ids; they are ``discovered`` again, with no job.
        """
        ids = [int(r[0]) for r in self.conn.execute(
            "SELECT files.id FROM hinted JOIN files ON files.id = hinted.file_id"
            " WHERE files.cid = ? AND files.state = 'uploaded'", (pack_cid(cid),))]
        for file_id in ids:
            self._write("UPDATE files SET state = 'discovered', job_id = NULL, error = NULL,"
                        " failed_since = NULL, updated = ? WHERE id = ?",
                        (int(time.time()), file_id))
            self._write("DELETE FROM hinted WHERE file_id = ?", (file_id,))
        return ids

    def drop_hints(self, cid: str) -> None:
        """The account's job for ``cid`` ended pinned: its files hold it now."""
        self._write("DELETE FROM hinted WHERE file_id IN (SELECT id FROM files WHERE cid = ?)",
                    (pack_cid(cid),))

    def give_up_failed_jobs(self, older_than: float) -> int:
        """Files whose job has stayed failed since before ``older_than`` become failed."""
        cursor = self._write(
            "UPDATE files SET state = 'failed', updated = ? WHERE state = 'uploaded'"
            " AND state <> 'pinned' AND failed_since IS NOT NULL AND failed_since <= ?",
            (int(time.time()), older_than),
        )
        return cursor.rowcount

    def fail_cid(self, cid: str, error: str) -> int:
        """Every uploaded file with this CID ends failed (``failed_since`` keeps it revivable)."""
        now = time.time()
        cursor = self._write(
            "UPDATE files SET state = 'failed', error = ?,"
            " failed_since = COALESCE(failed_since, ?), updated = ?"
            " WHERE cid = ? AND state = 'uploaded'",
            (error, now, int(now), pack_cid(cid)),
        )
        return cursor.rowcount

    def failed_job_cids(self) -> set[str]:
        """CIDs of files failed because of their job, which a late ``pinned`` would revive."""
        return {
            unpack_cid(r[0]) for r in self.conn.execute(
                "SELECT DISTINCT cid FROM files WHERE state = 'failed' AND state <> 'pinned'"
                " AND failed_since IS NOT NULL AND cid IS NOT NULL"
            )
        }

    def waiting_cids(self) -> set[str]:
        """CIDs of uploaded files whose job is not yet known to be final."""
        return {
            unpack_cid(r[0]) for r in self.conn.execute(
                "SELECT DISTINCT cid FROM files WHERE state = 'uploaded' AND state <> 'pinned'"
                " AND cid IS NOT NULL"
            )
        }
