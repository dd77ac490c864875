"""Showing a push to a person or a program; rendering only, from snapshots and events.

- On a terminal: the live display of :mod:`.display` (files and bytes out of
  those found so far, rate, ETA, the largest uploads in flight with their own
  bars, retries, failures), failures and notices printed above it.
- Not on a terminal: one timestamped status line every ``--stats`` seconds on
  stderr, starting once the first file is found.
- ``--json``: one JSON object per event on stdout, for programs.

Before the summary, each renders the run's final state, with the journal's
counts where the summary uses them, so the last thing drawn and the summary agree.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from ..push import FileEvent, NoticeEvent, ProgressEvent, PushEvent, PushSummary, Snapshot
from ..units import human_bytes, human_duration, human_rate
from .display import counters_line, display, listing_line, plain_console
from .terminal_text import failure_line, failure_text, for_terminal

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "STATS_INTERVAL", "JsonRenderer", "PlainRenderer", "RichRenderer", "final_snapshot",
    "human_bytes", "print_summary", "status_line",
]

# rich is imported by the renderers that draw with it, not at import: a --json
# or non-terminal run never pays for it (memory is a benchmarked budget).

#: Seconds between plain status lines when not on a terminal (``--stats``).
STATS_INTERVAL = 10.0


def _wall_clock() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def final_snapshot(summary: PushSummary) -> Snapshot:
    """The run's last snapshot, with the journal's pinned and failed counts.

    The poller reports pinned files after each round and the ticker draws
    twice a second, so the last frame drawn can lag the journal; the summary
    reads the journal, and the final frame must say the same. Its rate is the
    whole run's, as in the summary: the smoothed rate has decayed by the end.
    """
    s = summary.snapshot
    return dataclasses.replace(s, pinned=summary.counts["pinned"],
                               failed=summary.counts["failed"], rate=_average_rate(s))


def _average_rate(s: Snapshot) -> float:
    return s.bytes_sent / s.elapsed if s.elapsed > 0 else 0.0


def status_line(s: Snapshot) -> str:
    """One line saying where the run is (human units only)."""
    more = "" if s.walk_done else "+"
    walking = ", stopping" if s.stopping else (", walking" if not s.walk_done else "")
    return (
        f"files {s.files_done:,}/{s.files_found:,}{more}{walking}"
        f", {human_bytes(s.bytes_progress)}/{human_bytes(s.bytes_found)}{more}"
        f", {human_rate(s.rate)}, ETA {human_duration(s.eta)}"
        f", {counters_line(s).replace(' · ', ', ')}"
    )


#: File lines are flushed at most this often (seconds): a re-run of a million
#: files flushed a line each, 1M write calls. Every other event is flushed at
#: once, and a progress event comes every PROGRESS_INTERVAL, so no line waits
#: longer than that for a reader.
FILE_LINES_FLUSHED_EVERY = 0.05


class JsonRenderer:
    """``--json``: every event as one JSON line on stdout."""

    def __init__(self, out: IO[str] | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out or sys.stdout
        self._clock = clock
        self._flushed = clock()

    def _write(self, record: dict[str, Any], *, flush: bool = True) -> None:
        # ASCII-escaped: a non-UTF-8 name (a lone surrogate here) stays valid JSON.
        self.out.write(json.dumps(record) + "\n")
        now = self._clock()
        if flush or now - self._flushed >= FILE_LINES_FLUSHED_EVERY:
            self.out.flush()
            self._flushed = now

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            # Spelled out: dataclasses.asdict deep-copies, and a re-run of a
            # large tree writes one of these per file.
            self._write({"event": "file", "path": event.path, "outcome": event.outcome,
                         "size": event.size, "cid": event.cid, "error": event.error},
                        flush=False)
        elif isinstance(event, ProgressEvent):
            self._write({"event": "progress", **asdict(event.snapshot)})
        else:
            self._write({"event": "notice", "level": event.level, "message": event.message})

    def summary(self, summary: PushSummary) -> None:
        self._write({
            "event": "summary", "exit_status": summary.exit_status, "reason": summary.reason,
            "counts": summary.counts, "journal": str(summary.journal),
            "manifest": str(summary.manifest) if summary.manifest else None,
            "roots": [{"path": p, "cid": c} for p, c in summary.roots],
            "failures": [{"path": p, "error": e} for p, e in summary.failures],
            "snapshot": asdict(summary.snapshot),
            "poll_requests": summary.poll_requests,
            "poll_rounds": summary.poll_rounds,
            "destination": str(summary.destination) if summary.destination else None,
            "listing": asdict(summary.listing) if summary.listing else None,
        })


class PlainRenderer:
    """Not a terminal: a status line now and then, failures as they happen.

    Lines start once the first file is found (a line of zeros says nothing),
    then come every ``interval`` seconds, each with an ISO 8601 timestamp: a
    log read hours later must say when. ``clock`` and ``wall_clock`` are
    injected so tests need not wait.
    """

    def __init__(
        self,
        err: IO[str] | None = None,
        interval: float = STATS_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], str] = _wall_clock,
    ) -> None:
        self.err = err or sys.stderr
        self.interval = interval
        self._clock = clock
        self._wall_clock = wall_clock
        self._next: float | None = None

    def _line(self, snapshot: Snapshot) -> None:
        print(f"{self._wall_clock()} {status_line(snapshot)}", file=self.err, flush=True)

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            if event.outcome == "failed":
                print(failure_line(event.path, event.error), file=self.err, flush=True)
        elif isinstance(event, ProgressEvent):
            if event.snapshot.files_found == 0:
                return
            now = self._clock()
            if self._next is None or now >= self._next:
                self._next = now + self.interval
                self._line(event.snapshot)
        elif isinstance(event, NoticeEvent):
            print(for_terminal(event.message), file=self.err, flush=True)

    def summary(self, summary: PushSummary) -> None:
        """The final status line, then the summary."""
        self._line(final_snapshot(summary))
        print_summary(summary, plain_console(self.err))


class QuietRenderer:
    """``-q``: failures as they happen and the final line, nothing else."""

    def __init__(self, err: IO[str] | None = None) -> None:
        self.err = err or sys.stderr

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent) and event.outcome == "failed":
            print(failure_line(event.path, event.error), file=self.err, flush=True)

    def summary(self, summary: PushSummary) -> None:
        print(f"{summary.reason} (exit status {int(summary.exit_status)})", file=self.err,
              flush=True)


class RichRenderer:
    """On a terminal: a live display redrawn from each snapshot, messages above it."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.live import Live  # noqa: PLC0415

        self.console = console or Console(stderr=True)
        # Redrawn when a snapshot comes (twice a second), not on a timer of its
        # own: nothing changes between snapshots. ``progress`` for the CLI,
        # which stops it when a run ends without a summary.
        self.progress = Live(console=self.console, auto_refresh=False, transient=False,
                             redirect_stdout=False, redirect_stderr=False)
        self.progress.start()

    def stop(self) -> None:
        """Stop drawing (before an error message)."""
        self.progress.stop()

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            if event.outcome == "failed":
                self.console.print(failure_text(event.path, event.error), highlight=False)
        elif isinstance(event, ProgressEvent):
            self.progress.update(display(event.snapshot), refresh=True)
        elif isinstance(event, NoticeEvent):
            style = "yellow" if event.level == "warning" else "cyan"
            self.console.print(for_terminal(event.message), style=style, markup=False,
                               highlight=False)

    def summary(self, summary: PushSummary) -> None:
        """The final state drawn once more, then the summary below it."""
        self.progress.update(display(final_snapshot(summary)), refresh=True)
        self.progress.stop()
        print_summary(summary, self.console)


def print_summary(summary: PushSummary, console: Console) -> None:
    """The end-of-run table, then where the journal and manifest are."""
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    s, counts = summary.snapshot, summary.counts
    table = Table(title="bulkpin push", show_header=False, box=None)
    table.add_column(justify="right", style="bold")
    table.add_column()
    rate = _average_rate(s)
    rows: list[tuple[str, object]] = [
        ("would be uploaded", f"{s.would_send:,} ({human_bytes(s.would_send_bytes)})"),
        ("already on the account", f"{s.held:,}"),
        ("skipped as unchanged", f"{s.unchanged:,}"),
        ("copies of other files", f"{s.deduplicated:,}"),
        ("failed", f"{counts['failed']:,}"),
        ("skipped (left out)", f"{counts['skipped']:,}"),
    ] if summary.dry_run else [
        ("pinned", f"{counts['pinned']:,}"),
        ("uploaded, job not yet final", f"{counts['uploaded']:,}"),
        ("uploaded this run", f"{s.uploaded:,}"),
        ("already on the account", f"{s.held:,}"),
        ("skipped as unchanged", f"{s.unchanged:,}"),
        ("deduplicated", f"{s.deduplicated:,}"),
        ("failed", f"{counts['failed']:,}"),
        ("gone (deleted before pinned)", f"{s.gone:,}"),
        ("skipped (left out" + (": see the manifest)" if summary.manifest else ")"),
         f"{counts['skipped']:,}"),
        ("not yet sent", f"{counts['discovered'] + counts['uploading']:,}"),
        ("bytes sent", human_bytes(s.bytes_sent)),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{human_rate(rate)}, {s.files_rate:,.1f} files/s"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    for path, cid in summary.roots:
        why = summary.root_errors.get(path)
        shown = cid or (f"- ({why})" if why else "-")
        table.add_row("root", Text(for_terminal(f"{shown}  {path}")))
    console.print(table)
    for path, error in summary.failures[:20]:
        console.print(failure_line(path, error), markup=False, highlight=False)
    if len(summary.failures) > 20:
        console.print(
            "... and more: see the manifest or"
            f" `bulkpin status --journal {for_terminal(str(summary.journal))}`",
            markup=False,
        )
    if summary.listing is not None:
        cost = summary.listing
        console.print(listing_line(summary.destination, cost.pins_total, cost.jobs_seen,
                                   cost.requests), markup=False, highlight=False)
    journal = for_terminal(str(summary.journal))
    if summary.dry_run:
        journal += " (left as it was)" if summary.journal.exists() else \
            " (not made: a real run would make it)"
    console.print(f"journal: {journal}", markup=False, highlight=False)
    if summary.manifest:
        console.print(f"manifest: {for_terminal(str(summary.manifest))}", markup=False,
                      highlight=False)
    console.print(f"{summary.reason} (exit status {summary.exit_status})", markup=False,
                  highlight=False)
    if summary.exit_status == 3:
        console.print("Run the same command again to resume.", markup=False)
