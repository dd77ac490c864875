"""The job states: one set of transitions for the one items table's rows that wait on pin jobs.

``push``'s files and objects and ``pin``'s CIDs are rows of one table
(``files``, :mod:`.schema`) with one state machine; once sent they move alike::

    uploaded (sent: its job followed) ─▶ pinned
              └───────────────────────▶ failed (the job failed past the wait
                                        timeout, or the service made no job for
                                        it); a late ``pinned`` still revives it

A job's status applies to every sent row of its CID. ``failed`` is not final
at once (Decoo retries failed jobs): ``failed_since`` remembers when it was
first seen, the row is given up on after the wait timeout, and a late
``pinned`` still revives it.
"""

from __future__ import annotations

import time

from .packed import pack_cid, pack_id, unpack_cid
from .store import JournalStore

__all__ = ["SENT", "JobTransitions", "whole_seconds"]

#: The condition of a row sent, whose job is followed.
SENT = "state = 'uploaded'"


def whole_seconds() -> int:
    """``updated``: whole seconds, four bytes a row where a float takes eight."""
    return int(time.time())


class JobTransitions(JournalStore):
    """The transitions the poller drives (:class:`~.job_book.JobBook`), on the items table."""

    def _job_write(self, sql: str, cid: str | None, job_id: str | None = None,
                   error: str | None = None, older_than: float | None = None) -> int:
        params = {
            "key": None if cid is None else pack_cid(cid),
            "job": None if job_id is None else pack_id(job_id), "error": error,
            "now": time.time(), "updated": whole_seconds(), "older_than": older_than,
        }
        return self._write(sql.format(sent=SENT), params).rowcount

    def set_job_status(self, cid: str, status: str, job_id: str | None, error: str | None) -> int:
        """Apply a polled job status to every sent row with this CID.

        Returns how many rows became pinned (0 for any other status): what the
        poller counts. ``failed_since`` remembers when the job was first seen
        failed, because a failed Decoo job may still be retried and become ``pinned``.
        """
        if status == "pinned":
            # Also revives rows given up on after their job failed: Decoo
            # retries failed jobs, and a late success is still a success.
            return self._job_write(
                "UPDATE files SET state = 'pinned', job_id = COALESCE(:job, job_id),"
                " error = NULL, failed_since = NULL, updated = :updated"
                " WHERE cid = :key AND (({sent})"
                " OR (state = 'failed' AND failed_since IS NOT NULL))",
                cid, job_id)
        if status == "failed":
            self._job_write(
                "UPDATE files SET job_id = COALESCE(:job, job_id), error = :error,"
                " failed_since = COALESCE(failed_since, :now), updated = :updated"
                " WHERE cid = :key AND {sent}",
                cid, job_id, error)
        else:
            self._job_write(
                "UPDATE files SET job_id = COALESCE(:job, job_id), failed_since = NULL,"
                " updated = :updated WHERE cid = :key AND {sent}",
                cid, job_id)
        return 0

    def give_up_failed_jobs(self, older_than: float) -> int:
        """Rows whose job has stayed failed since before ``older_than`` become failed."""
        return self._job_write(
            "UPDATE files SET state = 'failed', updated = :updated WHERE {sent}"
            " AND state <> 'pinned' AND failed_since IS NOT NULL"
            " AND failed_since <= :older_than",
            None, older_than=older_than)

    def fail_cid(self, cid: str, error: str) -> int:
        """Every sent row with this CID ends failed (``failed_since`` keeps it revivable)."""
        return self._job_write(
            "UPDATE files SET state = 'failed', error = :error,"
            " failed_since = COALESCE(failed_since, :now), updated = :updated"
            " WHERE cid = :key AND {sent}",
            cid, error=error)

    def _cids(self, where: str) -> set[str]:
        # "state <> 'pinned'" in so many words: files' partial index (see .schema).
        sql = (f"SELECT DISTINCT cid FROM files WHERE {where}"  # noqa: S608 - constants
               " AND state <> 'pinned' AND cid IS NOT NULL")
        return {unpack_cid(r[0]) for r in self.conn.execute(sql.format(sent=SENT))}

    def failed_job_cids(self) -> set[str]:
        """CIDs of rows failed because of their job, which a late ``pinned`` would revive."""
        return self._cids("state = 'failed' AND failed_since IS NOT NULL")

    def waiting_cids(self) -> set[str]:
        """CIDs of sent rows whose job is not yet known to be final."""
        return self._cids("{sent}")

    # -- hints: rows waiting on a job the account had before this journal sent them.
    # Only push records them: a pin request is the same request whoever made
    # the job first, so a CID held by the account's job is settled (migrate.plan).

    def hinted_cids(self) -> set[str]:
        """CIDs of rows waiting on a job this journal did not make (see ``hinted``)."""
        return {
            unpack_cid(r[0]) for r in self.conn.execute(
                "SELECT DISTINCT files.cid FROM hinted JOIN files ON files.id = hinted.file_id"
                " WHERE files.state = 'uploaded' AND files.state <> 'pinned'"
            )
        }

    def revive_hinted(self, cid: str) -> list[int]:
        """The account's own job for ``cid`` failed: its waiting rows are to be sent.

        Returns their ids; they are ``discovered`` again, with no job.
        """
        ids = [int(r[0]) for r in self.conn.execute(
            "SELECT files.id FROM hinted JOIN files ON files.id = hinted.file_id"
            " WHERE files.cid = ? AND files.state = 'uploaded'", (pack_cid(cid),))]
        for file_id in ids:
            self._write("UPDATE files SET state = 'discovered', job_id = NULL, error = NULL,"
                        " failed_since = NULL, updated = ? WHERE id = ?",
                        (whole_seconds(), file_id))
            self._write("DELETE FROM hinted WHERE file_id = ?", (file_id,))
        return ids

    def drop_hints(self, cid: str) -> None:
        """The account's job for ``cid`` ended pinned: its rows hold it now."""
        self._write("DELETE FROM hinted WHERE file_id IN (SELECT id FROM files WHERE cid = ?)",
                    (pack_cid(cid),))
