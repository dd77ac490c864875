"""The parts of an end-of-run summary that ``pin`` and ``verify`` print alike.

A table of labelled counts, the first failures, a line per file the run left
(journal, manifest or report), and how it ended. What goes in them is each
command's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .terminal_text import failure_line

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["SHOWN_FAILURES", "print_counts", "print_ending", "print_failures", "print_line"]

#: Failures listed in a summary; the rest are in the manifest or report.
SHOWN_FAILURES = 20


def print_line(console: Console, text: str, style: str | None = None) -> None:
    """One line as it is: no markup, no highlighting, never wrapped."""
    console.print(text, markup=False, highlight=False, soft_wrap=True, style=style)


def print_counts(console: Console, title: str, rows: Sequence[tuple[str, object]]) -> None:
    """``label  value`` rows under ``title``."""
    from rich.table import Table  # noqa: PLC0415 - rich loads only to print a summary

    table = Table(title=title, show_header=False, box=None)
    table.add_column(justify="right", style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, str(value))
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
                 exit_status: int) -> None:
    """Where the run's files are (``(what, path)``, None left out), then how it ended."""
    for what, path in files:
        if path is not None:
            print_line(console, f"{what}: {path}")
    print_line(console, f"{reason} (exit status {exit_status})")
    if exit_status == 3:
        print_line(console, "Run the same command again to resume.")
