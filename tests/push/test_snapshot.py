"""The one snapshot: runs side by side merge into one, and each kind keeps its --json names."""

from __future__ import annotations

import pytest

from bulkpin.cli.display import counters_line, snapshot_record, status_line
from bulkpin.core.accounting import Accounting
from bulkpin.core.events import FileEvent
from bulkpin.core.snapshot import Snapshot, Transfer, merge
from bulkpin.migrate import PinAccounting, PinEvent
from bulkpin.verify._accounting import VerifyAccounting

MiB = 1024 * 1024


def _push(clock: float, files: int, stopping: bool = False) -> Snapshot:
    acct = Accounting(clock=lambda: clock)
    for i in range(files):
        acct.found(MiB)
        acct.file_done(FileEvent(f"f{i}", "uploaded", MiB))
    acct.found(3 * MiB)
    acct.begin(f"big{files}", 3 * MiB)
    acct.jobs(pinned=files, waiting=1, failing=1, gives_up_in=30.0 * files)
    if stopping:
        acct.stop_asked()
    return acct.snapshot()


def test_snapshots_of_runs_side_by_side_add_up() -> None:
    one, two = _push(0.0, 2), _push(0.0, 5, stopping=True)
    both = merge([one, two])
    assert (both.found, both.done, both.pinned, both.in_flight) == (9, 7, 7, 2)
    assert both.bytes_found == 13 * MiB
    assert both.count("uploaded") == 7
    assert both.waiting_jobs == 2
    assert both.failing_jobs == 2
    assert both.gives_up_in == 60.0  # the first to give up, not the last
    assert both.stopping
    assert not both.source_done
    assert [t.name for t in both.transfers] == ["big2", "big5"]
    assert merge([one]) == one


def test_merge_keeps_the_largest_transfers_and_refuses_two_kinds() -> None:
    many = [Snapshot(kind="push", elapsed=float(i), source_done=True, found=1, done=0,
                     in_flight=1, transfers=(Transfer(f"t{i}", i * MiB, 0),))
            for i in range(1, 7)]
    merged = merge(many)
    assert [t.name for t in merged.transfers] == ["t6", "t5", "t4", "t3"]
    assert merged.elapsed == 6.0
    assert merged.source_done
    pin = PinAccounting(clock=lambda: 0.0).snapshot()
    with pytest.raises(ValueError, match="one kind"):
        merge([many[0], pin])


def test_each_kind_keeps_the_names_its_json_always_had() -> None:
    push = snapshot_record(_push(1.0, 1))
    assert {"files_found", "files_done", "walk_done", "files_rate", "uploaded",
            "would_send_bytes", "transfers", "rate"} <= push.keys()
    assert "found" not in push
    assert "counts" not in push
    acct = PinAccounting(clock=lambda: 0.0)
    acct.take()
    acct.done(PinEvent("Qm1", "requested"))
    pin = snapshot_record(acct.snapshot())
    assert pin["rate"] == 0.0
    assert pin["listing_done"] is False
    assert (pin["found"], pin["done"], pin["requested"]) == (1, 1, 1)
    assert not {"bytes_found", "transfers", "files_found", "source_done"} & pin.keys()
    verify = snapshot_record(VerifyAccounting(clock=lambda: 0.0).snapshot())
    assert {"retrievable", "wrong_size", "bytes", "listing_done", "rate"} <= verify.keys()
    assert not {"pinned", "retries", "waiting_jobs"} & verify.keys()


def test_one_status_line_labels_each_kind_from_its_table() -> None:
    push = status_line(_push(1.0, 2))
    assert push.startswith("files 2/3+, walking, ")
    assert "uploaded 2" in push
    assert "MiB" in push
    pin = PinAccounting(clock=lambda: 0.0)
    pin.take()
    pin.listing_done = True
    line = status_line(pin.snapshot())
    assert line.startswith("CIDs 0/1, 0.0/s, requested 0, already on the account 0")
    assert "MiB" not in line
    verify = counters_line(VerifyAccounting(clock=lambda: 0.0).snapshot())
    assert verify.startswith("retrievable 0 · proven before 0 · incomplete 0")


def test_a_stopped_pin_or_verify_says_stopping_as_a_push_does() -> None:
    runs = ((PinAccounting(clock=lambda: 0.0), "listing"),
            (VerifyAccounting(clock=lambda: 0.0), "reading"))
    for acct, finding in runs:
        acct.take()
        assert status_line(acct.snapshot()).startswith(f"CIDs 0/1+, {finding}, ")
        acct.stop_asked()
        line = status_line(acct.snapshot())
        assert line.startswith("CIDs 0/1+, stopping, ")
        assert snapshot_record(acct.snapshot())["stopping"] is True
