"""Showing a ``pin`` run to a person or a program; rendering only, from snapshots and events.

``push``'s renderers (:mod:`.render`) draw files and bytes; a migration has
CIDs and jobs, so these are their small siblings: a rich bar on a terminal, a
status line every few seconds otherwise, one JSON object per event with ``--json``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Any

from ..migrate import (
    BadLineEvent,
    MigrateEvent,
    NoticeEvent,
    PinEvent,
    PinProgress,
    PinSnapshot,
    PinSummary,
)
from .display import jobs_waiting, listing_line, plain_console
from .summary_text import print_counts, print_ending, print_failures, print_line
from .terminal_text import failure_line, failure_text, for_terminal

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "PinJsonRenderer", "PinPlainRenderer", "PinQuietRenderer", "PinRichRenderer",
    "pin_status_line",
]

#: Seconds between plain status lines when not on a terminal.
PLAIN_INTERVAL = 5.0


def pin_status_line(s: PinSnapshot) -> str:
    """One line saying where the run is."""
    found = f"{s.found}{'' if s.listing_done else '+'}"
    line = (
        f"CIDs {s.done}/{found}, {s.rate:.1f}/s, requested {s.requested + s.recovered}"
        f", already on the account {s.held}, pinned {s.pinned}, waiting {s.waiting_jobs}"
        f", in flight {s.in_flight}, retries {s.retries}, failed {s.failed}"
        f", bad lines {s.bad_lines}"
    )
    if s.failing_jobs:
        line += f" ({jobs_waiting(s.waiting_jobs, s.failing_jobs, s.gives_up_in)})"
    return line


def _bad_line(event: BadLineEvent) -> str:
    quoted = "" if event.text in event.reason else f": {event.text!r}"
    return f"bad line: {event.origin}:{event.line}: {event.reason}{quoted}"


class PinJsonRenderer:
    """``--json``: every event as one JSON line on stdout."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def __call__(self, event: MigrateEvent) -> None:
        if isinstance(event, PinEvent):
            self._write({"event": "pin", "cid": event.cid, "outcome": event.outcome,
                         "name": event.name, "origin": event.origin, "job_id": event.job_id,
                         "error": event.error})
        elif isinstance(event, BadLineEvent):
            self._write({"event": "bad_line", "origin": event.origin, "line": event.line,
                         "text": event.text, "reason": event.reason})
        elif isinstance(event, PinProgress):
            self._write({"event": "progress", **asdict(event.snapshot)})
        else:
            self._write({"event": "notice", "level": event.level, "message": event.message})

    def summary(self, summary: PinSummary) -> None:
        self._write({
            "event": "summary", "exit_status": summary.exit_status, "reason": summary.reason,
            "source": summary.source, "counts": summary.counts,
            "journal": str(summary.journal),
            "manifest": str(summary.manifest) if summary.manifest else None,
            "failures": [{"what": w, "error": e} for w, e in summary.failures],
            "snapshot": asdict(summary.snapshot), "pin_requests": summary.pin_requests,
            "poll_requests": summary.poll_requests, "poll_rounds": summary.poll_rounds,
            "destination": str(summary.destination) if summary.destination else None,
            "listing": asdict(summary.listing) if summary.listing else None,
        })


class PinPlainRenderer:
    """Not a terminal: a status line now and then, failures and bad lines as they happen."""

    def __init__(self, err: IO[str] | None = None, interval: float = PLAIN_INTERVAL) -> None:
        self.err = err or sys.stderr
        self.interval = interval
        self._last = 0.0

    def __call__(self, event: MigrateEvent) -> None:
        if isinstance(event, PinEvent):
            if event.outcome == "failed":
                print(failure_line(f"{event.cid} ({event.origin})", event.error), file=self.err,
                      flush=True)
        elif isinstance(event, BadLineEvent):
            print(_bad_line(event), file=self.err, flush=True)
        elif isinstance(event, PinProgress):
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                print(pin_status_line(event.snapshot), file=self.err, flush=True)
        elif isinstance(event, NoticeEvent):
            print(for_terminal(event.message), file=self.err, flush=True)

    def summary(self, summary: PinSummary) -> None:
        print_pin_summary(summary, plain_console(self.err))


class PinQuietRenderer:
    """``-q``: failures as they happen and the final line, nothing else (as push's -q)."""

    def __init__(self, err: IO[str] | None = None) -> None:
        self.err = err or sys.stderr

    def __call__(self, event: MigrateEvent) -> None:
        if isinstance(event, PinEvent) and event.outcome == "failed":
            print(failure_line(f"{event.cid} ({event.origin})", event.error), file=self.err,
                  flush=True)
        elif isinstance(event, BadLineEvent):
            print(_bad_line(event), file=self.err, flush=True)

    def summary(self, summary: PinSummary) -> None:
        print(f"{summary.reason} (exit status {int(summary.exit_status)})", file=self.err,
              flush=True)


class PinRichRenderer:
    """On a terminal: a live bar of CIDs, failures and notices printed above it."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
        )

        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"), console=self.console, transient=False,
        )
        self.cids = self.progress.add_task("CIDs", total=None, extra="")
        self.pinned = self.progress.add_task("pinned", total=None, extra="")
        self.progress.start()

    def __call__(self, event: MigrateEvent) -> None:
        if isinstance(event, PinEvent):
            if event.outcome == "failed":
                self.console.print(failure_text(f"{event.cid} ({event.origin})", event.error),
                                   highlight=False)
        elif isinstance(event, BadLineEvent):
            self.console.print(_bad_line(event), markup=False, highlight=False, style="red")
        elif isinstance(event, PinProgress):
            s = event.snapshot
            total = s.found if s.listing_done else max(s.found, 1)
            self.progress.update(
                self.cids, completed=s.done, total=total,
                extra=f"{s.rate:.1f}/s · on the account {s.held} · in flight {s.in_flight}"
                      f" · retries {s.retries} · failed {s.failed} · bad lines {s.bad_lines}"
                      f"{'' if s.listing_done else ' · listing…'}",
            )
            self.progress.update(self.pinned, completed=s.pinned, total=total,
                                 extra=jobs_waiting(s.waiting_jobs, s.failing_jobs,
                                                    s.gives_up_in))
        elif isinstance(event, NoticeEvent):
            style = "yellow" if event.level == "warning" else "cyan"
            self.console.print(for_terminal(event.message), style=style, markup=False,
                               highlight=False)

    def stop(self) -> None:
        """Stop drawing (before an error message)."""
        self.progress.stop()

    def summary(self, summary: PinSummary) -> None:
        """The final counts drawn once more (the last tick may lag), then the summary."""
        self(PinProgress(final_pin_snapshot(summary)))
        self.progress.stop()
        print_pin_summary(summary, self.console)


def final_pin_snapshot(summary: PinSummary) -> PinSnapshot:
    """The run's last snapshot, with the journal's pinned and failed counts (as the table)."""
    return dataclasses.replace(summary.snapshot, pinned=summary.counts["pinned"],
                               failed=summary.counts["failed"])


def print_pin_summary(summary: PinSummary, console: Console) -> None:
    """The end-of-run table, failures, then where the journal and manifest are."""
    s, counts = summary.snapshot, summary.counts
    print_counts(console, f"bulkpin pin from {summary.source}", [
        ("pinned", counts["pinned"]),
        ("requested, job not yet final", counts["requested"]),
        ("requested this run", s.requested),
        ("found already requested", s.recovered),
        ("already on the account", s.held),
        ("known from earlier runs", s.unchanged),
        ("failed", counts["failed"]),
        ("bad lines (no CID)", counts["bad"]),
        ("not yet requested", counts["discovered"]),
        ("pinByHash requests", summary.pin_requests),
        ("pinJobs requests", f"{summary.poll_requests} in {summary.poll_rounds} rounds"),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{s.rate:.1f} CIDs/s"),
    ])
    print_failures(console, summary.failures, "see the manifest (--manifest)")
    if summary.listing is not None:
        cost = summary.listing
        print_line(console, listing_line(summary.destination, cost.pins_total,
                                         cost.jobs_seen, cost.requests))
    print_ending(console, [("journal", summary.journal), ("manifest", summary.manifest)],
                 summary.reason, summary.exit_status)
