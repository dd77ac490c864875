"""The terminal display of a push: one rich renderable drawn from one snapshot.

::

    files  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━   1,204/2,971+  walking…
    bytes  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━   122.4 MiB/378.0 MiB+ · 5.0 MiB/s
      big/a.bin              ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━   12.0 MiB/40.0 MiB
      … and 60 more in flight
    pinned 1,100 · uploaded 1,150 · held 20 · unchanged 0 · in flight 64 · retries 0 · failed 0

Everything shown comes from the :class:`~bulkpin.push.Snapshot`; nothing here
counts. A ``+`` after a total means the walk is still finding files; the ETA
appears only once it has finished (before that there is no total to reach).
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from ..core.events import Snapshot, Transfer
from ..units import human_bytes, human_duration, human_rate

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

__all__ = ["LARGE_FILE", "NAME_WIDTH", "counters_line", "display", "jobs_waiting",
           "listing_line", "plain_console"]

#: Columns a summary may take off a terminal: more than any line needs, so a log
#: keeps each line whole (no terminal decides where to wrap it).
PLAIN_WIDTH = 1000


def plain_console(file: IO[str]) -> Console:
    """Where a summary goes when stderr is no terminal: lines unwrapped, unpadded."""
    from rich.console import Console  # noqa: PLC0415 - rich loads only to print a summary

    return Console(file=file, force_terminal=False, width=PLAIN_WIDTH, soft_wrap=True)

#: Files at least this large get their own bar while in flight; smaller ones
#: are gone before a bar could move.
LARGE_FILE = 1024 * 1024

#: Characters of an in-flight file's name shown (its end: the file name matters).
NAME_WIDTH = 28


def _fit(name: str, width: int = NAME_WIDTH) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1):]


def counters_line(s: Snapshot) -> str:
    """What became of the files so far, in words."""
    parts = [f"pinned {s.pinned:,}", f"uploaded {s.uploaded:,}", f"held {s.held:,}",
             f"unchanged {s.unchanged:,}", f"in flight {s.in_flight:,}",
             f"retries {s.retries:,}", f"failed {s.failed:,}"]
    if s.deduplicated:
        parts.insert(3, f"deduplicated {s.deduplicated:,}")
    if s.gone:
        parts.append(f"gone {s.gone:,}")
    return " · ".join(parts)


def listing_line(destination: object, pins: int, jobs: int, requests: int) -> str:
    """What the account held when the run listed it, before anything moved.

    Said as then: right after pinning thousands of files, "0 pins" alone read
    as if they were not there.
    """
    return (f"account: {destination}: held {pins:,} pins and {jobs:,} unfinished jobs when"
            f" listed at the start ({requests:,} requests)")


def jobs_waiting(waiting: int, failing: int, gives_up_in: float | None) -> str:
    """What the jobs not yet final are waiting for, and how long a failed one may take.

    A failed job is not final at once (the service retries failed jobs), so a
    run can wait out --wait-timeout on one: say so, not "failed 0".
    """
    text = f"waiting for {waiting:,} pin job(s)"
    if failing:
        left = human_duration(max(0.0, gives_up_in or 0.0))
        text += (f", {failing:,} failed: waiting for the service to retry it, up to {left}"
                 " more (--wait-timeout)")
    return text


def _state(s: Snapshot) -> str:
    if s.stopping:
        return "stopping…"
    if not s.walk_done:
        return "walking…"
    if s.files_done >= s.files_found and s.in_flight == 0 and s.waiting_jobs:
        return jobs_waiting(s.waiting_jobs, s.failing_jobs, s.gives_up_in)
    return ""


def _bar(total: int, completed: int) -> RenderableType:
    from rich.progress_bar import ProgressBar  # noqa: PLC0415

    return ProgressBar(total=max(total, 1), completed=min(completed, max(total, 1)))


def _transfer_row(grid: Table, t: Transfer) -> None:
    name = f"  {_fit(t.name)}"
    if t.size >= LARGE_FILE:
        grid.add_row(name, _bar(t.size, t.sent),
                     f"{human_bytes(t.sent)}/{human_bytes(t.size)}")
    else:
        grid.add_row(name, "", human_bytes(t.size))


def display(s: Snapshot) -> RenderableType:
    """The whole display for one snapshot."""
    from rich.console import Group  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    more = "" if s.walk_done else "+"
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=NAME_WIDTH + 2, no_wrap=True, style="bold")
    grid.add_column(ratio=1)
    grid.add_column(no_wrap=True)
    grid.add_row("files", _bar(s.files_found, s.files_done),
                 f"{s.files_done:,}/{s.files_found:,}{more}  {_state(s)}".rstrip())
    eta = human_duration(s.eta) if s.walk_done else "-"
    grid.add_row("bytes", _bar(s.bytes_found, s.bytes_progress),
                 f"{human_bytes(s.bytes_progress)}/{human_bytes(s.bytes_found)}{more}"
                 f" · {human_rate(s.rate)} · ETA {eta}")
    for transfer in s.transfers:
        _transfer_row(grid, transfer)
    hidden = s.in_flight - len(s.transfers)
    lines: list[RenderableType] = [grid]
    if hidden > 0:
        lines.append(Text(f"  … and {hidden:,} more in flight", style="dim"))
    lines.append(Text(counters_line(s)))
    return Group(*lines)
