"""The end-of-run summary of every command: one layout, each kind's own rows.

A table of labelled counts, the first failures, what the account held when
listed, a line per file the run left (journal, manifest or report), and how
it ended. What goes in the table is each command's own (:data:`SUMMARIES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..units import human_bytes, human_rate
from .terminal_text import failure_line, for_terminal

if TYPE_CHECKING:
    from rich.console import Console

    from ..core.snapshot import RunKind
    from ..migrate import PinSummary
    from ..push import PushSummary
    from ..push.account_index import ListingCost
    from ..verify import VerifySummary

__all__ = ["SHOWN_FAILURES", "SUMMARIES", "print_counts", "print_ending", "print_failures",
           "print_line", "print_summary"]

#: Failures listed in a summary; the rest are in the manifest or report.
SHOWN_FAILURES = 20


def print_line(console: Console, text: str, style: str | None = None) -> None:
    """One line as it is: no markup, no highlighting.

    Wrapped at words on a terminal (a line the terminal cut would run past
    the display's width mid-word), never in a log (:func:`.display.plain_console`).
    """
    console.print(text, markup=False, highlight=False, style=style)


def _shown(value: object) -> str:
    # Grouped as every number a summary says (8,389, not 8389).
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_counts(console: Console, title: str, rows: Sequence[tuple[str, object]]) -> None:
    """``label  value`` rows under ``title``; a value is text, never markup."""
    from rich.table import Table  # noqa: PLC0415 - rich loads only to print a summary
    from rich.text import Text  # noqa: PLC0415

    table = Table(title=title, show_header=False, box=None)
    table.add_column(justify="right", style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, Text(_shown(value)))
    if console.is_terminal:
        console.print(table)
        return
    # A table pads every row to its widest; in a log or a pipe that is trailing
    # blanks on every line (a diff or a grep of the log sees them).
    with console.capture() as drawn:
        console.print(table)
    for line in drawn.get().splitlines():
        console.print(line.rstrip(), markup=False, highlight=False)


def print_failures(console: Console, failures: Sequence[tuple[str, str]], more: str) -> None:
    """The first :data:`SHOWN_FAILURES` ``(what, why)``; ``more`` says where the rest are."""
    for what, error in failures[:SHOWN_FAILURES]:
        print_line(console, failure_line(what, error))
    if len(failures) > SHOWN_FAILURES:
        print_line(console, f"... and more: {more}")


def print_ending(console: Console, files: Sequence[tuple[str, object | None]], reason: str,
                 exit_status: int,
                 listing: tuple[object, ListingCost | None] | None = None) -> None:
    """What the account held (``(destination, listing)``), where the run's files are
    (``(what, path)``, None left out), then how it ended."""
    if listing is not None and listing[1] is not None:
        print_line(console, listing[1].as_then(listing[0]))
    for what, path in files:
        if path is not None:
            print_line(console, f"{what}: {for_terminal(str(path))}")
    print_line(console, f"{reason} (exit status {exit_status})")
    if exit_status == 3:
        print_line(console, "Run the same command again to resume.")


def _push(summary: PushSummary, console: Console) -> None:
    s, counts = summary.snapshot, summary.counts
    left_out = "skipped (left out" + (": see the manifest)" if summary.manifest else ")")
    rows: list[tuple[str, object]] = [
        ("would be uploaded",
         f"{s.count('would_send'):,} ({human_bytes(s.count('would_send_bytes'))})"),
        ("already on the account", s.count("held")),
        ("skipped as unchanged", s.count("unchanged")),
        ("copies of other files", s.count("deduplicated")),
        ("failed", counts["failed"]),
        ("skipped (left out)", counts["skipped"]),
    ] if summary.dry_run else [
        ("pinned", counts["pinned"]),
        ("uploaded, job not yet final", counts["uploaded"]),
        ("uploaded this run", s.count("uploaded")),
        ("already on the account", s.count("held")),
        ("skipped as unchanged", s.count("unchanged")),
        ("deduplicated", s.count("deduplicated")),
        ("failed", counts["failed"]),
        ("gone (deleted before pinned)", s.count("gone")),
        (left_out, counts["skipped"]),
        ("not yet sent", counts["discovered"] + counts["uploading"]),
        ("bytes sent", human_bytes(s.bytes_sent)),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{human_rate(average_rate(s.bytes_sent, s.elapsed))},"
                 f" {s.items_rate:,.1f} files/s"),
    ]
    for path, cid in summary.roots:
        why = summary.root_errors.get(path)
        shown = cid or (f"- ({why})" if why else "-")
        rows.append(("root", for_terminal(f"{shown}  {path}")))
    print_counts(console, "bulkpin push", rows)
    print_failures(console, summary.failures, "see the manifest or"
                   f" `bulkpin status --journal {for_terminal(str(summary.journal))}`")
    journal = str(summary.journal)
    if summary.dry_run:
        journal += " (left as it was)" if summary.journal.exists() else \
            " (not made: a real run would make it)"
    print_ending(console, [("journal", journal), ("manifest", summary.manifest)],
                 summary.reason, summary.exit_status,
                 (summary.destination, summary.listing))


def _pin(summary: PinSummary, console: Console) -> None:
    s, counts = summary.snapshot, summary.counts
    print_counts(console, f"bulkpin pin from {for_terminal(summary.source)}", [
        ("pinned", counts["pinned"]),
        ("requested, job not yet final", counts["requested"]),
        ("requested this run", s.count("requested")),
        ("found already requested", s.count("recovered")),
        ("already on the account", s.count("held")),
        ("known from earlier runs", s.count("unchanged")),
        ("failed", counts["failed"]),
        ("bad lines (no CID)", counts["bad"]),
        ("not yet requested", counts["discovered"]),
        ("pinByHash requests", summary.pin_requests),
        ("pinJobs requests", f"{summary.poll_requests:,} in {summary.poll_rounds:,} rounds"),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{s.items_rate:,.1f} CIDs/s"),
    ])
    print_failures(console, summary.failures, "see the manifest (--manifest)")
    print_ending(console, [("journal", summary.journal), ("manifest", summary.manifest)],
                 summary.reason, summary.exit_status, (summary.destination, summary.listing))


def _verify(summary: VerifySummary, console: Console) -> None:
    s, counts = summary.snapshot, summary.counts
    sample = f", sample {summary.sample}" if summary.sample else ""
    print_counts(console, "bulkpin verify", [
        ("input", for_terminal(summary.source + sample)),
        ("retrievable", f"{counts['retrievable']:,} ({s.count('proven'):,} proven by an"
                        " earlier run)"),
        ("incomplete", counts["incomplete"]),
        ("corrupt", counts["corrupt"]),
        ("wrong size", counts["wrong-size"]),
        ("unreachable", counts["unreachable"]),
        ("not yet checked", counts["unchecked"]),
        ("changed on disk", counts["changed"]),
        ("bad lines (no CID)", s.count("bad_lines")),
        ("gateways", ", ".join(summary.gateways)),
        ("time", f"{s.elapsed:.1f} s"),
        ("rate", f"{s.items_rate:,.1f} CIDs/s"),
    ])
    for gateway, n in summary.corrupt_gateways.items():
        print_line(console, f"{gateway} served a block that does not match its CID"
                            f" ({n:,} CID(s))", style="red")
    print_failures(console, summary.failures, "see the report (--report)")
    print_ending(console, [("journal", summary.journal), ("report", summary.report)],
                 summary.reason, summary.exit_status)


def average_rate(done: float, elapsed: float) -> float:
    """``done`` per second over the whole run (a smoothed rate has decayed by its end)."""
    return done / elapsed if elapsed > 0 else 0.0


#: Each kind's summary, by :attr:`Snapshot.kind` of the summary's snapshot.
SUMMARIES: dict[RunKind, Callable[[Any, Console], None]] = {
    "push": _push, "pin": _pin, "verify": _verify,
}


def print_summary(summary: PushSummary | PinSummary | VerifySummary, console: Console) -> None:
    """The end-of-run table, failures, then the account, the run's files and its ending."""
    SUMMARIES[summary.snapshot.kind](summary, console)
