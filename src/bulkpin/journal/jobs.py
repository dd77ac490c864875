"""The job states, one set of transitions for every journal whose rows wait on pin jobs.

``push``'s files and ``pin``'s CIDs move alike once sent::

    sent (its job followed) ─▶ pinned
              └──────────────▶ failed (the job failed past the wait timeout, or
                                       the service made no job for it); a late
                                       ``pinned`` still revives it

A job's status applies to every sent row of its CID. ``failed`` is not final
at once (Decoo retries failed jobs): ``failed_since`` remembers when it was
first seen, the row is given up on after the wait timeout, and a late
``pinned`` still revives it. What differs between the tables (which rows are
"sent", how a CID is stored) is a :class:`JobTable`; the statements are one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .packed import pack_cid, pack_id, unpack_cid
from .store import JournalStore

__all__ = ["FILE_JOBS", "PIN_JOBS", "JobTable", "JobTransitions"]


def _same(value: str) -> str:
    return value


@dataclass(frozen=True, slots=True)
class JobTable:
    """Where a kind of journal keeps the rows that wait on jobs, and how."""

    table: str
    #: The condition of a row sent, whose job is followed.
    sent: str
    #: How the table stores a CID and a job id (packed, or as text).
    pack_cid: Callable[[str], bytes | str]
    unpack_cid: Callable[[bytes | str], str]
    pack_job: Callable[[str], bytes | str]
    #: Set on a row as it becomes pinned, besides its state (``""``: nothing).
    on_pinned: str = ""
    #: ``updated`` in whole seconds (four bytes a row where a float takes eight).
    whole_seconds: bool = False


#: ``push``'s files (:mod:`.files`): CIDs and ids packed, ``uploaded`` once sent.
FILE_JOBS = JobTable("files", "state = 'uploaded'", pack_cid, unpack_cid, pack_id,
                     whole_seconds=True)
#: ``pin``'s CIDs (:mod:`.pins`): text, ``requested`` and answered once sent.
PIN_JOBS = JobTable("pins", "state = 'requested' AND answered = 1", _same, _same,  # type: ignore[arg-type]
                    _same, on_pinned="pinned_at = :now,")


class JobTransitions(JournalStore):
    """The transitions the poller drives (:class:`~.job_book.JobBook`), on ``JOBS``' table."""

    JOBS: JobTable = FILE_JOBS

    def _job_write(self, sql: str, cid: str | None, job_id: str | None = None,
                   error: str | None = None, older_than: float | None = None) -> int:
        jobs = self.JOBS
        now = time.time()
        params = {
            "key": None if cid is None else jobs.pack_cid(cid),
            "job": None if job_id is None else jobs.pack_job(job_id), "error": error,
            "now": now, "updated": int(now) if jobs.whole_seconds else now,
            "older_than": older_than,
        }
        return self._write(sql.format(t=jobs.table, sent=jobs.sent, on_pinned=jobs.on_pinned),
                           params).rowcount

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
                "UPDATE {t} SET state = 'pinned', job_id = COALESCE(:job, job_id),"
                " error = NULL, failed_since = NULL, {on_pinned} updated = :updated"
                " WHERE cid = :key AND (({sent})"
                " OR (state = 'failed' AND failed_since IS NOT NULL))",
                cid, job_id)
        if status == "failed":
            self._job_write(
                "UPDATE {t} SET job_id = COALESCE(:job, job_id), error = :error,"
                " failed_since = COALESCE(failed_since, :now), updated = :updated"
                " WHERE cid = :key AND {sent}",
                cid, job_id, error)
        else:
            self._job_write(
                "UPDATE {t} SET job_id = COALESCE(:job, job_id), failed_since = NULL,"
                " updated = :updated WHERE cid = :key AND {sent}",
                cid, job_id)
        return 0

    def give_up_failed_jobs(self, older_than: float) -> int:
        """Rows whose job has stayed failed since before ``older_than`` become failed."""
        return self._job_write(
            "UPDATE {t} SET state = 'failed', updated = :updated WHERE {sent}"
            " AND state <> 'pinned' AND failed_since IS NOT NULL"
            " AND failed_since <= :older_than",
            None, older_than=older_than)

    def fail_cid(self, cid: str, error: str) -> int:
        """Every sent row with this CID ends failed (``failed_since`` keeps it revivable)."""
        return self._job_write(
            "UPDATE {t} SET state = 'failed', error = :error,"
            " failed_since = COALESCE(failed_since, :now), updated = :updated"
            " WHERE cid = :key AND {sent}",
            cid, error=error)

    def _cids(self, where: str) -> set[str]:
        jobs = self.JOBS
        # "state <> 'pinned'" in so many words: files' partial index (see .schema).
        sql = (f"SELECT DISTINCT cid FROM {jobs.table} WHERE {where}"  # noqa: S608 - constants
               " AND state <> 'pinned' AND cid IS NOT NULL")
        return {jobs.unpack_cid(r[0]) for r in self.conn.execute(sql.format(sent=jobs.sent))}

    def failed_job_cids(self) -> set[str]:
        """CIDs of rows failed because of their job, which a late ``pinned`` would revive."""
        return self._cids("state = 'failed' AND failed_since IS NOT NULL")

    def waiting_cids(self) -> set[str]:
        """CIDs of sent rows whose job is not yet known to be final."""
        return self._cids("{sent}")
