"""The renderers: plain status lines, and the final frame agreeing with the summary."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from bulkpin.cli.render import JsonRenderer, PlainRenderer, RichRenderer, status_line
from bulkpin.push import (
    Accounting,
    ExitStatus,
    FileEvent,
    ProgressEvent,
    PushSummary,
    Snapshot,
)
from bulkpin.push.account_index import ListingCost

MiB = 1024 * 1024
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ")


def snap(**fields: Any) -> Snapshot:
    return dataclasses.replace(Accounting(clock=lambda: 0.0).snapshot(), **fields)


def summary_of(snapshot: Snapshot, **counts: int) -> PushSummary:
    base = dict.fromkeys(("pinned", "uploaded", "failed", "skipped", "discovered",
                          "uploading", "gone"), 0)
    return PushSummary(exit_status=ExitStatus.OK, reason="done", snapshot=snapshot,
                       counts={**base, **counts}, journal=Path("j.sqlite"), manifest=None)


class Clocks:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> str:
        return f"2025-06-01T12:{int(self.now) // 60:02}:{int(self.now) % 60:02}+00:00"


def test_plain_lines_start_with_the_first_file_then_every_interval() -> None:
    out, clocks = io.StringIO(), Clocks()
    render = PlainRenderer(out, interval=10.0, clock=clocks.monotonic, wall_clock=clocks.wall)
    for _ in range(6):  # the account listing, the walk's first seconds: nothing found
        render(ProgressEvent(snap()))
        clocks.now += 0.5
    assert out.getvalue() == ""
    found = 0
    while clocks.now < 33.0:
        found += 3
        render(ProgressEvent(snap(found=found, bytes_found=found * MiB)))
        clocks.now += 0.5
    lines = out.getvalue().splitlines()
    # At the first file (t=3), then every 10 s: 13, 23 (and 33 is not reached).
    assert [line[:26] for line in lines] == [clocks_at(3), clocks_at(13), clocks_at(23)]
    assert all(STAMP.match(line) for line in lines)
    assert "files 0/3+, walking" in lines[0]


def clocks_at(seconds: int) -> str:
    clocks = Clocks()
    clocks.now = seconds
    return clocks.wall() + " "


def test_status_line_uses_human_units_and_marks_the_walk() -> None:
    walking = status_line(snap(found=12, bytes_found=123_456_789, done=3,
                               bytes_done=23_456_789, rate=2_000_000.0))
    assert "files 3/12+, walking" in walking
    assert "22.4 MiB/117.7 MiB+" in walking
    assert "ETA -" in walking  # no total yet, no ETA
    assert not re.search(r"\d{5,}", walking)  # no raw byte counts
    done = status_line(snap(found=12, bytes_found=123_456_789, done=3,
                            bytes_done=23_456_789, rate=2_000_000.0, source_done=True))
    assert "walking" not in done
    assert "+" not in done
    assert "ETA 0:50" in done


def test_plain_final_line_agrees_with_the_summary() -> None:
    out, clocks = io.StringIO(), Clocks()
    render = PlainRenderer(out, clock=clocks.monotonic, wall_clock=clocks.wall)
    render(ProgressEvent(snap(found=2969, done=2969, pinned=2920, source_done=True)))
    render.summary(summary_of(snap(found=2969, done=2969, pinned=2920,
                                   source_done=True), pinned=2969))
    lines = out.getvalue().splitlines()
    assert "pinned 2,920" in lines[0]
    assert "pinned 2,969" in lines[1]  # the final state, before the table
    assert re.search(r"pinned\s+2,969", out.getvalue())


def test_terminal_final_frame_agrees_with_the_summary() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    render = RichRenderer(console)
    stale = snap(found=2969, done=2969, pinned=2920, source_done=True)
    render(ProgressEvent(stale))
    render.summary(summary_of(stale, pinned=2969))
    text = out.getvalue()
    table = text.index("bulkpin push")
    last_frame = text.rindex("files", 0, table)
    assert "pinned 2,969" in text[last_frame:table]
    assert "pinned 2,920" not in text[last_frame:table]


def test_a_stopped_walk_says_stopping_not_walking() -> None:
    # After a stop the walk ends where it is: "walking" would be untrue (issue 14).
    walking = snap(source_done=False, found=10)
    assert ", walking" in status_line(walking)
    stopping = snap(source_done=False, found=10, stopping=True)
    line = status_line(stopping)
    assert ", stopping" in line
    assert "walking" not in line
    acct = Accounting(clock=lambda: 0.0)
    acct.stop_asked()
    assert acct.snapshot().stopping


class _Flushes(io.StringIO):
    """Counts how many lines were in the buffer at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(self.getvalue().count("\n"))


def test_json_file_lines_are_flushed_together_and_other_events_at_once() -> None:
    clock = Clocks()
    out = _Flushes()
    render = JsonRenderer(out, clock=lambda: clock.now)
    for i in range(1000):  # a re-run's burst of unchanged files, all within 10 ms
        render(FileEvent(f"f{i}", "unchanged", 4, "Qm"))
        clock.now += 0.00001
    assert out.flushed_at == []  # nothing flushed a line at a time
    clock.now += 0.05
    render(FileEvent("late", "unchanged", 4, "Qm"))
    assert out.flushed_at == [1001]  # the window passed: everything so far is out
    render(FileEvent("next", "unchanged", 4, "Qm"))
    render(ProgressEvent(snap()))
    assert out.flushed_at == [1001, 1003]  # a progress event is never held back
    assert len(out.getvalue().splitlines()) == 1003


def test_the_summary_says_why_a_root_is_missing_and_what_the_account_held() -> None:
    """Issue 26 item 8: "root -" said why not; "0 pins" read as after the run; "see the
    manifest" was said with no manifest; numbers were mixed (8,389 and 8389)."""
    base = summary_of(snap(found=8389, done=8389, source_done=True,
                           items_rate=2946.9), pinned=8389, skipped=2)
    listing = ListingCost(requests=4, pins_seen=0, jobs_seen=0, rebuilt=False, pins_total=0)
    summary = dataclasses.replace(
        base, roots=[("/data", None)], listing=listing,
        root_errors={"/data": "not computed: filters or --shard select part of the tree"})
    out = io.StringIO()
    PlainRenderer(out).summary(summary)
    text = out.getvalue()
    assert "- (not computed: filters or --shard select part of the tree)  /data" in text
    assert "held 0 pins and 0 unfinished jobs when listed at the start (4 requests)" in text
    assert re.search(r"skipped \(left out\)\s+2\s*\n", text)
    assert "see the manifest" not in text
    assert re.search(r"pinned\s+8,389", text)
    assert "8389" not in text
    assert "2,946.9 files/s" in text


def test_pin_s_final_frame_shows_the_final_counts() -> None:
    # The last tick can come before the listing ended and the poller's last
    # round (issue 26: "CIDs 0/1 … listing…" above "pinned 2").
    from bulkpin.core.snapshot import Snapshot  # noqa: PLC0415
    from bulkpin.migrate import PinSummary  # noqa: PLC0415

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    render = RichRenderer(console)
    base = Snapshot(kind="pin", elapsed=1.0, source_done=False, found=1, done=0, in_flight=0,
                    items_rate=2.0, counts=dict.fromkeys(
                        ("requested", "recovered", "held", "unchanged", "bad_lines"), 0))
    render(ProgressEvent(base))
    final = dataclasses.replace(base, source_done=True, found=2, done=2, pinned=1)
    counts = {"pinned": 2, "requested": 0, "failed": 0, "bad": 0, "discovered": 0}
    render.summary(PinSummary(exit_status=ExitStatus.OK, reason="done", source="cids.txt",
                              snapshot=final, counts=counts, journal=Path("j"),
                              manifest=None))
    text = out.getvalue()
    table = text.index("bulkpin pin")
    last_frame = text.rindex("CIDs", 0, table)
    frame = text[last_frame:table]
    assert re.search(r"CIDs\b.*\b2/2\b", frame), frame
    assert "listing…" not in frame
    assert re.search(r"pinned\b.*\b2/2\b", frame), frame


def test_verify_s_final_frame_shows_the_final_counts() -> None:
    # As pin's: a last tick taken while the input was still read left
    # "CIDs 0/? … reading…" above the summary of 50 retrievable.
    from bulkpin.core.snapshot import Snapshot  # noqa: PLC0415
    from bulkpin.verify import VerifySummary  # noqa: PLC0415

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    render = RichRenderer(console)
    names = ("retrievable", "incomplete", "corrupt", "wrong_size", "unreachable", "proven",
             "changed", "bad_lines", "bytes")
    base = Snapshot(kind="verify", elapsed=0.1, source_done=False, found=0, done=0,
                    in_flight=0, counts=dict.fromkeys(names, 0))
    render(ProgressEvent(base))
    final = dataclasses.replace(base, source_done=True, found=3, done=3,
                                counts={**base.counts, "retrievable": 3})
    counts = {"retrievable": 3, "incomplete": 0, "corrupt": 0, "wrong-size": 0,
              "unreachable": 0, "unchecked": 0, "changed": 0}
    render.summary(VerifySummary(exit_status=ExitStatus.OK, reason="done", counts=counts,
                                 journal=Path("j"), source="cids.txt",
                                 gateways=("http://127.0.0.1:1",), snapshot=final,
                                 report=None))
    text = out.getvalue()
    table = text.index("bulkpin verify")
    frame = text[text.rindex("CIDs", 0, table):table]
    assert re.search(r"CIDs\b.*\b3/3\b", frame), frame
    assert "reading…" not in frame


def test_a_summary_not_on_a_terminal_has_no_trailing_blanks() -> None:
    from bulkpin.cli.display import plain_console  # noqa: PLC0415
    from bulkpin.cli.summary_text import print_counts  # noqa: PLC0415

    out = io.StringIO()
    print_counts(plain_console(out), "bulkpin push",
                 [("pinned", "2"), ("root", "Qm" + "x" * 44 + "  /a/long/path/of/the/tree")])
    lines = out.getvalue().splitlines()
    assert any(line.endswith("pinned  2") for line in lines), lines
    assert [line for line in lines if line != line.rstrip()] == []


def test_the_account_line_groups_its_numbers_as_the_summary_does() -> None:
    listing = ListingCost(requests=1114, pins_seen=0, jobs_seen=5001, rebuilt=False,
                          pins_total=100000)
    assert listing.describe() == ("the account holds 100,000 pins and 5,001 unfinished jobs"
                                  " (1,114 requests)")
