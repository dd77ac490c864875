"""Showing a push to a person or a program; rendering only, from snapshots and events.

- On a terminal: rich progress bars (files and bytes out of those found so far,
  rate, ETA, in flight, retries, failures), failures printed above them.
- Not on a terminal: a plain status line every few seconds on stderr.
- ``--json``: one JSON object per event on stdout, for programs.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Any

from ..push import FileEvent, NoticeEvent, ProgressEvent, PushEvent, PushSummary, Snapshot
from ..units import human_bytes

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported by the renderers that draw with it, not at import: a --json
# or non-terminal run never pays for it (memory is a benchmarked budget).

#: Seconds between plain status lines when not on a terminal.
PLAIN_INTERVAL = 5.0


def _eta(s: Snapshot) -> str:
    eta = s.eta
    if eta is None:
        return "-"
    minutes, seconds = divmod(int(eta), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def status_line(s: Snapshot) -> str:
    """One line saying where the run is."""
    found = f"{s.files_found}{'' if s.walk_done else '+'}"
    return (
        f"files {s.files_done}/{found}, {human_bytes(s.bytes_done)}/{human_bytes(s.bytes_found)}"
        f", {human_bytes(s.rate)}/s, ETA {_eta(s)}, in flight {s.in_flight}, pinned {s.pinned}"
        f", retries {s.retries}, failed {s.failed}"
    )


class JsonRenderer:
    """``--json``: every event as one JSON line on stdout."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout

    def _write(self, record: dict[str, Any]) -> None:
        # ASCII-escaped: a non-UTF-8 name (a lone surrogate here) stays valid JSON.
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            # Spelled out: dataclasses.asdict deep-copies, and a re-run of a
            # large tree writes one of these per file.
            self._write({"event": "file", "path": event.path, "outcome": event.outcome,
                         "size": event.size, "cid": event.cid, "error": event.error})
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
    """Not a terminal: a status line now and then, failures as they happen."""

    def __init__(self, err: IO[str] | None = None, interval: float = PLAIN_INTERVAL) -> None:
        self.err = err or sys.stderr
        self.interval = interval
        self._last = 0.0

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            if event.outcome == "failed":
                print(f"failed: {event.path}: {event.error}", file=self.err, flush=True)
        elif isinstance(event, ProgressEvent):
            now = time.monotonic()
            if now - self._last >= self.interval:
                self._last = now
                print(status_line(event.snapshot), file=self.err, flush=True)
        elif isinstance(event, NoticeEvent):
            print(event.message, file=self.err, flush=True)

    def summary(self, summary: PushSummary) -> None:
        from rich.console import Console  # noqa: PLC0415

        print_summary(summary, Console(file=self.err, force_terminal=False, width=100))


class QuietRenderer:
    """``-q``: failures as they happen and the final line, nothing else."""

    def __init__(self, err: IO[str] | None = None) -> None:
        self.err = err or sys.stderr

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent) and event.outcome == "failed":
            print(f"failed: {event.path}: {event.error}", file=self.err, flush=True)

    def summary(self, summary: PushSummary) -> None:
        print(f"{summary.reason} (exit status {int(summary.exit_status)})", file=self.err,
              flush=True)


class RichRenderer:
    """On a terminal: live bars, with failures and notices printed above them."""

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
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            console=self.console,
            transient=False,
        )
        self.files = self.progress.add_task("files", total=None, extra="")
        self.bytes = self.progress.add_task("bytes", total=None, extra="")
        self.progress.start()

    def __call__(self, event: PushEvent) -> None:
        if isinstance(event, FileEvent):
            if event.outcome == "failed":
                self.console.print(f"[red]failed[/red] {event.path}: {event.error}",
                                   markup=True, highlight=False)
        elif isinstance(event, ProgressEvent):
            s = event.snapshot
            self.progress.update(
                self.files, completed=s.files_done,
                total=s.files_found if s.walk_done else max(s.files_found, 1),
                extra=f"pinned {s.pinned} · in flight {s.in_flight} · retries {s.retries}"
                      f" · failed {s.failed}{'' if s.walk_done else ' · walking…'}",
            )
            self.progress.update(
                self.bytes, completed=s.bytes_done, total=max(s.bytes_found, 1),
                extra=f"{human_bytes(s.bytes_done)}/{human_bytes(s.bytes_found)}"
                      f" · {human_bytes(s.rate)}/s · ETA {_eta(s)}",
            )
        elif isinstance(event, NoticeEvent):
            style = "yellow" if event.level == "warning" else "cyan"
            self.console.print(f"[{style}]{event.message}[/{style}]", markup=True, highlight=False)

    def summary(self, summary: PushSummary) -> None:
        self.progress.stop()
        print_summary(summary, self.console)


def print_summary(summary: PushSummary, console: Console) -> None:
    """The end-of-run table, then where the journal and manifest are."""
    from rich.table import Table  # noqa: PLC0415

    s, counts = summary.snapshot, summary.counts
    table = Table(title="bulkpin push", show_header=False, box=None)
    table.add_column(justify="right", style="bold")
    table.add_column()
    rate = s.bytes_sent / s.elapsed if s.elapsed > 0 else 0.0
    rows = [
        ("pinned", counts["pinned"]),
        ("uploaded, job not yet final", counts["uploaded"]),
        ("uploaded this run", s.uploaded),
        ("already on the account", s.held),
        ("skipped as unchanged", s.unchanged),
        ("deduplicated", s.deduplicated),
        ("failed", counts["failed"]),
        ("gone (deleted before pinned)", s.gone),
        ("skipped (left out: see the manifest)", counts["skipped"]),
        ("not yet sent", counts["discovered"] + counts["uploading"]),
        ("bytes sent", human_bytes(s.bytes_sent)),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{human_bytes(rate)}/s, {s.files_rate:.1f} files/s"),
    ]
    for label, value in rows:
        table.add_row(label, str(value))
    for path, cid in summary.roots:
        table.add_row("root", f"{cid or '-'}  {path}")
    console.print(table)
    for path, error in summary.failures[:20]:
        console.print(f"failed: {path}: {error}", markup=False, highlight=False)
    if len(summary.failures) > 20:
        console.print(
            f"... and more: see the manifest or `bulkpin status --journal {summary.journal}`",
            markup=False,
        )
    if summary.listing is not None:
        cost = summary.listing
        console.print(f"account: {summary.destination}: {cost.pins_total} pins,"
                      f" {cost.jobs_seen} unfinished jobs, listed in {cost.requests} requests",
                      markup=False, highlight=False)
    console.print(f"journal: {summary.journal}", markup=False, highlight=False)
    if summary.manifest:
        console.print(f"manifest: {summary.manifest}", markup=False, highlight=False)
    console.print(f"{summary.reason} (exit status {summary.exit_status})", markup=False,
                  highlight=False)
    if summary.exit_status == 3:
        console.print("Run the same command again to resume.", markup=False)
