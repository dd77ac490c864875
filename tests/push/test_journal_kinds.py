"""Every kind of journal is told for what it is: by ``status``, and by a run given the wrong one.

Schema 2 told a pin or verification journal by a ``profile`` of ``pinByHash``
or ``verify``; schema 3 by ``meta.kind``. ``status`` with no PATH lists the
journals of every kind (verifications too, in their own directory) with their
own counts, not as push journals with zeros. And a journal write failing
while the jobs are polled ends the run as the journal's error (exit 2).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from bulkpin.cli.run_errors import run_and_exit
from bulkpin.cli.status import status_command
from bulkpin.client import DecooClient, load_credentials
from bulkpin.journal import (
    Journal,
    JournalError,
    PinJournal,
    SharedClaims,
    VerifyJournal,
    claims_path,
    default_pin_journal_path,
    default_verify_journal_path,
)
from bulkpin.push import PushOptions, PushSummary, push
from tests.fixtures.journals import make_journals as made
from tests.support.push import POLL_INTERVAL
from tests.support.service import ServiceProcess

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def _old_pin_journal(path: Path) -> Path:
    """Today's pin journal fixture (schema 2, never opened by this bulkpin) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(Path(made.__file__).parent / made.PIN_JOURNAL) as packed, \
            path.open("wb") as raw:
        shutil.copyfileobj(packed, raw)
    return path


def test_status_lists_every_kind_of_journal_with_its_own_counts(tmp_path: Path) -> None:
    old_pin = _old_pin_journal(default_pin_journal_path("old", None))
    with PinJournal(default_pin_journal_path("new", None)) as pin:  # schema 3
        pin.begin_run()
    with VerifyJournal(default_verify_journal_path("cids")) as verify:
        verify.begin_run()
        verify.see(CID, "f", 1)
        verify.record(CID, "retrievable")

    # The claims file a push keeps beside a destination's journals is none of them.
    with SharedClaims(claims_path("some-destination")):
        pass

    listed = CliRunner().invoke(status_command, ["--json"])
    assert listed.exit_code == 0, listed.output
    entries = {Path(e["journal"]): e for e in map(json.loads, listed.stdout.splitlines())}
    assert entries[old_pin]["kind"] == "pin"
    pinned, requested, discovered = (made.PINNED_FIRST, 1,
                                     made.PIN_CIDS - made.PINNED_FIRST - 1)
    assert entries[old_pin]["counts"] == {"pinned": pinned, "requested": requested,
                                          "discovered": discovered}
    assert entries[old_pin]["paths"] == sorted(entries[old_pin]["paths"]) != []
    kinds = sorted(e["kind"] for e in entries.values())
    assert kinds == ["pin", "pin", "verify"]
    (verified,) = [e for e in entries.values() if e["kind"] == "verify"]
    assert verified["counts"] == {"retrievable": 1}

    plain = CliRunner().invoke(status_command, [])
    assert plain.exit_code == 0
    assert "not a bulkpin journal" not in plain.output
    assert f"CIDs from: {' '.join(entries[old_pin]['paths'])}" in plain.stdout
    for said in (f"pinned {pinned}", f"requested {requested}", f"discovered {discovered}",
                 "a verification of CIDs\n", "retrievable 1"):
        assert said in plain.stdout

    # Named as a push journal, a pin journal is refused, not read as zeros.
    refused = CliRunner().invoke(status_command, ["--journal", str(old_pin)])
    assert refused.exit_code == 2
    assert "is a `bulkpin pin` journal" in refused.output


def test_a_journal_write_failing_while_polling_exits_2(
    service: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree = made.write_tree(tmp_path / "tree")
    journal = tmp_path / "j.sqlite"

    def full(self: Journal, *args: object) -> int:
        raise JournalError(f"cannot write the journal {self.path}: database or disk is full")

    # Every upload went through; only what polling learns cannot be written.
    monkeypatch.setattr(Journal, "set_job_status", full)
    credentials = load_credentials(profile=service.profile_path, env={})

    async def run() -> PushSummary:
        options = PushOptions(journal=journal, wait=True, poll_interval=POLL_INTERVAL)
        async with DecooClient(credentials) as client:
            return await push([str(tree)], options, client=client)

    class Unreached:
        def summary(self, summary: PushSummary) -> None:
            raise AssertionError(f"the run ended with a summary: {summary}")

    with pytest.raises(SystemExit) as exited:
        run_and_exit(lambda: anyio.run(run), Unreached())
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "disk is full" in said
    assert str(journal) in said
