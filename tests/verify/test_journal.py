"""The verification journal: what a run proved stays proven, and its layout is versioned."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bulkpin.push import JournalError
from bulkpin.verify import Incomplete, Retrievable, VerifyJournal, record_outcome

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_an_outcome_is_kept_across_runs_and_counted_for_the_run_that_saw_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v.sqlite"
    with VerifyJournal(path) as journal:
        journal.begin_run()
        assert journal.see(CID, "f", 0).outcome is None
        record_outcome(journal, Retrievable(CID, "http://g", 0.1, 10.0, 0, 1, 0))
        assert journal.counts()["retrievable"] == 1
    with VerifyJournal(path) as journal:
        journal.begin_run()
        assert journal.counts()["retrievable"] == 0  # not seen by this run yet
        proof = journal.see(CID, "f", 0)
        assert proof.outcome == "retrievable"
        assert proof.proven_at is not None
        assert journal.see(CID, "f", 0).seen_now
        # A later failure does not erase when it was last proven.
        record_outcome(journal, Incomplete(CID, "http://g", ("bafy-missing",)))
        assert journal.counts()["incomplete"] == 1
        (row,) = journal.report_rows()
        assert (row["outcome"], row["missing_blocks"], row["missing"]) == (
            "incomplete", 1, "bafy-missing")
        assert row["proven_at"] == proof.proven_at


def test_a_journal_of_another_layout_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    VerifyJournal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(JournalError, match="incompatible"):
        VerifyJournal(path)
