"""Showing a verification to a person or a program; rendering only, from snapshots and events.

The siblings of ``pin``'s renderers (:mod:`.pin_render`), for CIDs proven
rather than pinned: a rich bar on a terminal, a status line every few seconds
otherwise, one JSON object per event with ``--json``. ``quiet`` keeps only
findings, warnings and the summary.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import IO, TYPE_CHECKING, Any

from ..verify import (
    BadLineEvent,
    ChangedEvent,
    CidEvent,
    Incomplete,
    NoticeEvent,
    Retrievable,
    VerifyEvent,
    VerifyProgress,
    VerifySnapshot,
    VerifySummary,
)
from .display import plain_console
from .summary_text import print_counts, print_ending, print_failures, print_line
from .terminal_text import failure_line, failure_text, for_terminal

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["VerifyJsonRenderer", "VerifyPlainRenderer", "VerifyRichRenderer",
           "verify_status_line"]

#: Seconds between plain status lines when not on a terminal.
PLAIN_INTERVAL = 5.0


def verify_status_line(s: VerifySnapshot) -> str:
    """One line saying where the run is."""
    found = f"{s.found}{'' if s.listing_done else '+'}"
    return (f"CIDs {s.done}/{found}, {s.rate:.1f}/s, retrievable {s.retrievable}"
            f", proven before {s.proven}, incomplete {s.incomplete}, corrupt {s.corrupt}"
            f", wrong size {s.wrong_size}, unreachable {s.unreachable}"
            f", in flight {s.in_flight}, changed on disk {s.changed}")


def _finding(event: CidEvent | ChangedEvent | BadLineEvent) -> tuple[str, str | None] | None:
    """``(what, why)`` of an event worth a line of its own, or None."""
    if isinstance(event, CidEvent):
        if event.result in ("retrievable", "proven"):
            return None
        return f"{event.name} ({event.cid})", f"{event.result}: {event.reason}"
    if isinstance(event, ChangedEvent):
        return event.name, f"changed on disk since the push: {event.reason}"
    quoted = "" if event.text in event.reason else f": {event.text!r}"
    return f"{event.origin}:{event.line}", f"no CID: {event.reason}{quoted}"


class VerifyJsonRenderer:
    """``--json``: every event as one JSON line on stdout."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.out = out or sys.stdout

    def _write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()

    def __call__(self, event: VerifyEvent) -> None:
        if isinstance(event, CidEvent):
            outcome = event.outcome
            self._write({
                "event": "cid", "cid": event.cid, "name": event.name, "outcome": event.result,
                "gateway": getattr(outcome, "gateway", None),
                "ttfb": outcome.ttfb if isinstance(outcome, Retrievable) else None,
                "bytes_per_second": outcome.bytes_per_second
                if isinstance(outcome, Retrievable) else None,
                "missing_blocks": len(outcome.missing) if isinstance(outcome, Incomplete)
                else None,
                "failures": [asdict(f) for f in getattr(outcome, "failures", ())],
                "reason": event.reason,
            })
        elif isinstance(event, ChangedEvent):
            self._write({"event": "changed", **asdict(event)})
        elif isinstance(event, BadLineEvent):
            self._write({"event": "bad_line", **asdict(event)})
        elif isinstance(event, VerifyProgress):
            self._write({"event": "progress", **asdict(event.snapshot)})
        else:
            self._write({"event": "notice", "level": event.level, "message": event.message})

    def summary(self, summary: VerifySummary) -> None:
        self._write({
            "event": "summary", "exit_status": summary.exit_status, "reason": summary.reason,
            "source": summary.source, "gateways": list(summary.gateways),
            "sample": summary.sample, "counts": summary.counts,
            "corrupt_gateways": summary.corrupt_gateways,
            "failures": [{"what": w, "error": e} for w, e in summary.failures],
            "snapshot": asdict(summary.snapshot), "journal": str(summary.journal),
            "report": str(summary.report) if summary.report else None,
        })


class VerifyPlainRenderer:
    """Not a terminal: a status line now and then, findings as they happen."""

    def __init__(self, err: IO[str] | None = None, interval: float = PLAIN_INTERVAL,
                 quiet: bool = False) -> None:
        self.err = err or sys.stderr
        self.interval = interval
        self.quiet = quiet
        self._last = 0.0

    def _print(self, line: str) -> None:
        print(line, file=self.err, flush=True)

    def __call__(self, event: VerifyEvent) -> None:
        if isinstance(event, VerifyProgress):
            now = time.monotonic()
            if not self.quiet and now - self._last >= self.interval:
                self._last = now
                self._print(verify_status_line(event.snapshot))
        elif isinstance(event, NoticeEvent):
            if not self.quiet or event.level == "warning":
                self._print(for_terminal(event.message))
        elif (found := _finding(event)) is not None:
            self._print(failure_line(*found))

    def summary(self, summary: VerifySummary) -> None:
        print_verify_summary(summary, plain_console(self.err))


class VerifyRichRenderer:
    """On a terminal: a live bar of CIDs, findings and notices printed above it."""

    def __init__(self, console: Console | None = None, quiet: bool = False) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
        )

        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"), console=self.console, transient=quiet,
        )
        self.cids = self.progress.add_task("CIDs", total=None, extra="")
        self.progress.start()

    def __call__(self, event: VerifyEvent) -> None:
        if isinstance(event, VerifyProgress):
            s = event.snapshot
            self.progress.update(
                self.cids, completed=s.done, total=s.found if s.listing_done else None,
                extra=f"{s.rate:.1f}/s · retrievable {s.retrievable + s.proven}"
                      f" · not {s.incomplete + s.corrupt + s.wrong_size + s.unreachable}"
                      f" · in flight {s.in_flight}{'' if s.listing_done else ' · reading…'}",
            )
        elif isinstance(event, NoticeEvent):
            if not self.quiet or event.level == "warning":
                style = "yellow" if event.level == "warning" else "cyan"
                self.console.print(for_terminal(event.message), style=style, markup=False,
                                   highlight=False)
        elif (found := _finding(event)) is not None:
            self.console.print(failure_text(*found), highlight=False)

    def stop(self) -> None:
        """Stop drawing (before an error message)."""
        self.progress.stop()

    def summary(self, summary: VerifySummary) -> None:
        """The final counts drawn once more (the last tick may lag), then the summary."""
        self(VerifyProgress(summary.snapshot))
        self.progress.stop()
        print_verify_summary(summary, self.console)


def print_verify_summary(summary: VerifySummary, console: Console) -> None:
    """The end-of-run table, the gateways that lied, findings, then the journal and report."""
    s, counts = summary.snapshot, summary.counts
    print_counts(console, "bulkpin verify", [
        ("input", summary.source + (f", sample {summary.sample}" if summary.sample else "")),
        ("retrievable", f"{counts['retrievable']} ({s.proven} proven by an earlier run)"),
        ("incomplete", counts["incomplete"]),
        ("corrupt", counts["corrupt"]),
        ("wrong size", counts["wrong-size"]),
        ("unreachable", counts["unreachable"]),
        ("not yet checked", counts["unchecked"]),
        ("changed on disk", counts["changed"]),
        ("bad lines (no CID)", s.bad_lines),
        ("gateways", ", ".join(summary.gateways)),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{s.rate:.1f} CIDs/s"),
    ])
    for gateway, n in summary.corrupt_gateways.items():
        print_line(console, f"{gateway} served a block that does not match its CID"
                            f" ({n} CID(s))", style="red")
    print_failures(console, summary.failures, "see the report (--report)")
    print_ending(console, [("journal", summary.journal), ("report", summary.report)],
                 summary.reason, summary.exit_status)
