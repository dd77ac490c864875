"""Showing a run to a person or a program: one set of renderers for every kind of run.

- On a terminal: the live display of :mod:`.display`, redrawn from each
  snapshot, failures and notices printed above it.
- Not on a terminal: one timestamped status line every ``--stats`` seconds on
  stderr, starting once the first item is found.
- ``-q``: failures (and findings) as they happen, then the final line; a
  ``verify`` keeps its warnings and whole summary (:attr:`.display.Kind.quiet_keeps_summary`).
- ``--json``: one JSON object per event on stdout, for programs.

``push``, ``pin`` and ``verify`` send the same :class:`~bulkpin.core.events.ProgressEvent`
and notices; each has its own per-item events, drawn here as one failure
line each. Before the summary, each renderer draws the run's final state, with
the journal's counts where the summary uses them, so the last thing drawn and
the summary agree.
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

from ..core.events import FileEvent, NoticeEvent, ProgressEvent
from ..core.snapshot import RunKind, Snapshot
from ..core.summary import MoveSummary
from ..migrate import BadLineEvent, PinEvent, PinSummary
from ..units import human_bytes
from .display import KINDS, display, plain_console, snapshot_record, status_line
from .summary_text import average_rate, print_summary
from .terminal_text import failure_line, failure_text, for_terminal

if TYPE_CHECKING:
    from rich.console import Console

    from ..push import PushSummary
    from ..verify import ChangedEvent, CidEvent, VerifySummary

    Summary = PushSummary | PinSummary | VerifySummary
    #: Whatever any kind of run tells its caller.
    Event = (FileEvent | PinEvent | CidEvent | ChangedEvent | BadLineEvent | ProgressEvent
             | NoticeEvent)

__all__ = [
    "STATS_INTERVAL", "JsonRenderer", "PlainRenderer", "QuietRenderer", "Renderer",
    "RichRenderer", "final_snapshot", "human_bytes", "make_renderer", "print_summary",
    "status_line",
]

# rich is imported by the renderers that draw with it, not at import: a --json
# or non-terminal run never pays for it (memory is a benchmarked budget).

#: Seconds between plain status lines when not on a terminal (``--stats``).
STATS_INTERVAL = 10.0


def _wall_clock() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def final_snapshot(summary: Summary) -> Snapshot:
    """The run's last snapshot, with the journal's pinned and failed counts.

    The poller reports pinned items after each round and the ticker draws
    twice a second, so the last frame drawn can lag the journal; the summary
    reads the journal, and the final frame must say the same. Its byte rate is
    the whole run's, as in the summary: the smoothed rate has decayed by the end.
    """
    s, counts = summary.snapshot, summary.counts
    return dataclasses.replace(s, pinned=counts.get("pinned", s.pinned),
                               failed=counts.get("failed", s.failed),
                               rate=average_rate(s.bytes_sent, s.elapsed))


def _bad_line(event: BadLineEvent) -> str:
    quoted = "" if event.text in event.reason else f": {event.text!r}"
    return for_terminal(f"bad line: {event.origin}:{event.line}: {event.reason}{quoted}")


def _failure(event: Event) -> tuple[str, str | None] | None:
    """``(what, why)`` of an item event worth a line of its own, or None."""
    if isinstance(event, FileEvent):
        return (event.path, event.error) if event.outcome == "failed" else None
    if isinstance(event, PinEvent):
        return (f"{event.cid} ({event.origin})", event.error) \
            if event.outcome == "failed" else None
    # verify's types: loaded by a verify only, not by every push (import time).
    from ..verify import ChangedEvent, CidEvent  # noqa: PLC0415

    if isinstance(event, CidEvent):
        if event.result in ("retrievable", "proven"):
            return None
        return f"{event.name} ({event.cid})", f"{event.result}: {event.reason}"
    if isinstance(event, ChangedEvent):
        return event.name, f"changed on disk since the push: {event.reason}"
    return None


def _problem(event: Event) -> str | None:
    """The line of an event worth one off a terminal: a failure, a finding, a bad line."""
    if isinstance(event, BadLineEvent):
        return _bad_line(event)
    failed = _failure(event)
    return failure_line(*failed) if failed is not None else None


#: Item lines are flushed at most this often (seconds): a re-run of a million
#: files flushed a line each, 1M write calls. Every other event is flushed at
#: once, and a progress event comes every PROGRESS_INTERVAL, so no line waits
#: longer than that for a reader.
FILE_LINES_FLUSHED_EVERY = 0.05


def _item_record(event: Event) -> dict[str, Any] | None:
    """An item event as JSON, or None (not an item event)."""
    # Spelled out, not dataclasses.asdict: it deep-copies, and a re-run of a
    # large tree writes one of these per file.
    if isinstance(event, FileEvent):
        return {"event": "file", "path": event.path, "outcome": event.outcome,
                "size": event.size, "cid": event.cid, "error": event.error}
    if isinstance(event, PinEvent):
        return {"event": "pin", "cid": event.cid, "outcome": event.outcome, "name": event.name,
                "origin": event.origin, "job_id": event.job_id, "error": event.error}
    from ..verify import CidEvent, Incomplete, Retrievable  # noqa: PLC0415 - see _failure

    if isinstance(event, CidEvent):
        outcome = event.outcome
        return {
            "event": "cid", "cid": event.cid, "name": event.name, "outcome": event.result,
            "gateway": getattr(outcome, "gateway", None),
            "ttfb": outcome.ttfb if isinstance(outcome, Retrievable) else None,
            "bytes_per_second": outcome.bytes_per_second
            if isinstance(outcome, Retrievable) else None,
            "missing_blocks": len(outcome.missing) if isinstance(outcome, Incomplete) else None,
            "failures": [asdict(f) for f in getattr(outcome, "failures", ())],
            "reason": event.reason,
        }
    return None


def _summary_record(summary: Summary) -> dict[str, Any]:
    """What every summary says, then what its kind adds (under the names it always had)."""
    record: dict[str, Any] = {
        "event": "summary", "exit_status": summary.exit_status, "reason": summary.reason,
        "counts": summary.counts, "journal": str(summary.journal),
        "snapshot": snapshot_record(summary.snapshot),
    }
    failures = [{"what": w, "error": e} for w, e in summary.failures]
    if not isinstance(summary, MoveSummary):
        return {**record, "source": summary.source, "gateways": list(summary.gateways),
                "sample": summary.sample, "corrupt_gateways": summary.corrupt_gateways,
                "failures": failures,
                "report": str(summary.report) if summary.report else None}
    record.update({
        "manifest": str(summary.manifest) if summary.manifest else None,
        "poll_requests": summary.poll_requests, "poll_rounds": summary.poll_rounds,
        "destination": str(summary.destination) if summary.destination else None,
        "listing": asdict(summary.listing) if summary.listing else None,
    })
    if isinstance(summary, PinSummary):
        return {**record, "source": summary.source, "pin_requests": summary.pin_requests,
                "failures": failures}
    return {**record, "roots": [{"path": p, "cid": c} for p, c in summary.roots],
            "failures": [{"path": p, "error": e} for p, e in summary.failures]}


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

    def __call__(self, event: Event) -> None:
        item = _item_record(event)
        if item is not None:
            self._write(item, flush=False)
        elif isinstance(event, ProgressEvent):
            self._write({"event": "progress", **snapshot_record(event.snapshot)})
        elif isinstance(event, NoticeEvent):
            self._write({"event": "notice", "level": event.level, "message": event.message})
        elif isinstance(event, BadLineEvent):
            self._write({"event": "bad_line", "origin": event.origin, "line": event.line,
                         "text": event.text, "reason": event.reason})
        else:
            self._write({"event": "changed", **asdict(event)})

    def summary(self, summary: Summary) -> None:
        self._write(_summary_record(summary))


class PlainRenderer:
    """Not a terminal: a status line now and then, failures as they happen.

    Lines start once the first item is found (a line of zeros says nothing),
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

    def _print(self, line: str) -> None:
        print(line, file=self.err, flush=True)

    def _line(self, snapshot: Snapshot) -> None:
        self._print(f"{self._wall_clock()} {status_line(snapshot)}")

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            if event.snapshot.found == 0:
                return
            now = self._clock()
            if self._next is None or now >= self._next:
                self._next = now + self.interval
                self._line(event.snapshot)
        elif isinstance(event, NoticeEvent):
            self._print(for_terminal(event.message))
        elif (line := _problem(event)) is not None:
            self._print(line)

    def summary(self, summary: Summary) -> None:
        """The final status line, then the summary."""
        self._line(final_snapshot(summary))
        print_summary(summary, plain_console(self.err))


class QuietRenderer:
    """``-q``: failures as they happen and the final line, nothing else.

    Unless the kind keeps its summary (``verify``: the summary is what it
    found), then warnings and the whole summary too.
    """

    def __init__(self, err: IO[str] | None = None, kind: RunKind = "push") -> None:
        self.err = err or sys.stderr
        self._keeps = KINDS[kind].quiet_keeps_summary

    def _print(self, line: str) -> None:
        print(line, file=self.err, flush=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            return
        if isinstance(event, NoticeEvent):
            if self._keeps and event.level == "warning":
                self._print(for_terminal(event.message))
        elif (line := _problem(event)) is not None:
            self._print(line)

    def summary(self, summary: Summary) -> None:
        if self._keeps:
            print_summary(summary, plain_console(self.err))
        else:
            self._print(f"{summary.reason} (exit status {int(summary.exit_status)})")


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

    def __call__(self, event: Event) -> None:
        if isinstance(event, ProgressEvent):
            self.progress.update(display(event.snapshot), refresh=True)
        elif isinstance(event, NoticeEvent):
            style = "yellow" if event.level == "warning" else "cyan"
            self.console.print(for_terminal(event.message), style=style, markup=False,
                               highlight=False)
        elif isinstance(event, BadLineEvent):
            self.console.print(_bad_line(event), markup=False, highlight=False, style="red")
        elif (failed := _failure(event)) is not None:
            self.console.print(failure_text(*failed), highlight=False)

    def summary(self, summary: Summary) -> None:
        """The final state drawn once more, then the summary below it."""
        self.progress.update(display(final_snapshot(summary)), refresh=True)
        self.progress.stop()
        print_summary(summary, self.console)


#: Any of the renderers: what a command hands its run as ``on_event``.
Renderer = JsonRenderer | PlainRenderer | QuietRenderer | RichRenderer


def make_renderer(kind: RunKind, as_json: bool, quiet: bool = False,
                  stats: float = STATS_INTERVAL) -> Renderer:
    """The renderer a command's flags and stderr ask for (every command alike)."""
    if as_json:
        return JsonRenderer()
    if quiet:
        return QuietRenderer(kind=kind)
    if sys.stderr.isatty():
        return RichRenderer()
    return PlainRenderer(interval=stats)
