"""What a run's snapshot looks like: the live display, the status line, the JSON record.

One drawing for every kind of run; the kind (:attr:`Snapshot.kind`) picks
only labels, which bars there are and which counts are named, from
:data:`KINDS`. A push on a terminal::

    files  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━   1,204/2,971+  walking…
    bytes  ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━   122.4 MiB/378.0 MiB+ · 5.0 MiB/s
      big/a.bin              ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━   12.0 MiB/40.0 MiB
      … and 60 more in flight
    pinned 1,100 · uploaded 1,150 · held 20 · unchanged 0 · in flight 64 · retries 0 · failed 0

A ``pin`` has a bar of CIDs done and one of CIDs pinned, a ``verify`` one of
CIDs checked; both say CIDs per second where a push says bytes. Everything
shown comes from the snapshot; nothing here counts. A ``+`` after a total
means the source is still being read; the ETA appears only once it has been
read whole (before that there is no total to reach).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from ..core.snapshot import RunKind, Snapshot, Transfer
from ..units import human_bytes, human_duration, human_rate

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

__all__ = ["KINDS", "LARGE_FILE", "NAME_WIDTH", "Kind", "counters_line", "display",
           "jobs_waiting", "plain_console", "snapshot_record", "status_line"]

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


@dataclass(frozen=True, slots=True)
class Counter:
    """One named count of the counters line: the sum of ``names``.

    A name is a :class:`Snapshot` field or one of the kind's own counts.
    """

    label: str
    names: tuple[str, ...]
    #: shown when 0 too (else only once it happens: "gone 0" says nothing)
    always: bool = True


@dataclass(frozen=True, slots=True)
class Kind:
    """How a kind of run is labelled; the one place where kinds differ in drawing."""

    #: what its items are called
    noun: str
    #: what it does while its source is still read ("walking")
    finding: str
    #: whether it moves bytes: a bytes bar, byte rate and ETA, uploads in flight
    moves_bytes: bool
    #: a second bar, of items pinned, when it has no bytes one
    pinned_bar: bool
    counters: tuple[Counter, ...]
    #: its progress record's names where they are not the snapshot's (None: left
    #: out, the kind has no such thing): what programs reading ``--json`` know
    json_names: dict[str, str | None]
    #: ``-q`` keeps warnings and the whole summary (verify's summary is its finding)
    quiet_keeps_summary: bool = False


_NO_BYTES: dict[str, str | None] = {
    "rate": None, "bytes_found": None, "bytes_done": None, "bytes_sent": None,
    "bytes_moving": None, "transfers": None,
    "source_done": "listing_done", "items_rate": "rate"}
_NO_JOBS: dict[str, str | None] = dict.fromkeys(
    ("pinned", "failed", "retries", "waiting_jobs", "failing_jobs", "gives_up_in"))

#: Every kind of run, by :attr:`Snapshot.kind`.
KINDS: dict[RunKind, Kind] = {
    "push": Kind(
        noun="files", finding="walking", moves_bytes=True, pinned_bar=False,
        counters=(Counter("pinned", ("pinned",)), Counter("uploaded", ("uploaded",)),
                  Counter("held", ("held",)),
                  Counter("deduplicated", ("deduplicated",), always=False),
                  Counter("unchanged", ("unchanged",)), Counter("in flight", ("in_flight",)),
                  Counter("retries", ("retries",)), Counter("failed", ("failed",)),
                  Counter("gone", ("gone",), always=False)),
        json_names={"found": "files_found", "done": "files_done",
                    "source_done": "walk_done", "items_rate": "files_rate"},
    ),
    "pin": Kind(
        noun="CIDs", finding="listing", moves_bytes=False, pinned_bar=True,
        counters=(Counter("requested", ("requested", "recovered")),
                  Counter("already on the account", ("held",)),
                  Counter("pinned", ("pinned",)), Counter("waiting", ("waiting_jobs",)),
                  Counter("in flight", ("in_flight",)), Counter("retries", ("retries",)),
                  Counter("failed", ("failed",)), Counter("bad lines", ("bad_lines",))),
        json_names=_NO_BYTES,
    ),
    "verify": Kind(
        noun="CIDs", finding="reading", moves_bytes=False, pinned_bar=False,
        counters=(Counter("retrievable", ("retrievable",)),
                  Counter("proven before", ("proven",)),
                  Counter("incomplete", ("incomplete",)), Counter("corrupt", ("corrupt",)),
                  Counter("wrong size", ("wrong_size",)),
                  Counter("unreachable", ("unreachable",)),
                  Counter("in flight", ("in_flight",)),
                  Counter("changed on disk", ("changed",))),
        json_names={**_NO_BYTES, **_NO_JOBS},
        quiet_keeps_summary=True,
    ),
}

_FIELDS = frozenset(f.name for f in dataclasses.fields(Snapshot))


def _value(s: Snapshot, name: str) -> int:
    return int(getattr(s, name)) if name in _FIELDS else s.count(name)


def counters_line(s: Snapshot, sep: str = " · ") -> str:
    """What became of the items so far, in words."""
    parts = []
    for counter in KINDS[s.kind].counters:
        n = sum(_value(s, name) for name in counter.names)
        if n or counter.always:
            parts.append(f"{counter.label} {n:,}")
    return sep.join(parts)


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
    """The run's phase in words ("" while it just works through what it found)."""
    if s.stopping:
        return "stopping"
    if not s.source_done:
        return KINDS[s.kind].finding
    if s.done >= s.found and s.in_flight == 0 and s.waiting_jobs:
        return jobs_waiting(s.waiting_jobs, s.failing_jobs, s.gives_up_in)
    return ""


def _items(s: Snapshot) -> str:
    more = "" if s.source_done else "+"
    return f"{s.done:,}/{s.found:,}{more}"


def _bytes(s: Snapshot) -> str:
    more = "" if s.source_done else "+"
    return f"{human_bytes(s.bytes_progress)}/{human_bytes(s.bytes_found)}{more}"


def status_line(s: Snapshot) -> str:
    """One line saying where the run is (human units only)."""
    kind = KINDS[s.kind]
    state = _state(s)
    line = f"{kind.noun} {_items(s)}{', ' + state if state else ''}"
    if kind.moves_bytes:
        line += f", {_bytes(s)}, {human_rate(s.rate)}, ETA {human_duration(s.eta)}"
    else:
        line += f", {s.items_rate:,.1f}/s"
    return f"{line}, {counters_line(s, ', ')}"


def snapshot_record(s: Snapshot) -> dict[str, Any]:
    """The snapshot for ``--json``: every field and count, under the kind's names."""
    names = KINDS[s.kind].json_names
    record: dict[str, Any] = {}
    for field in dataclasses.fields(Snapshot):
        value = getattr(s, field.name)
        if field.name == "counts":
            record.update(value)
        elif (shown := names.get(field.name, field.name)) is not None:
            record[shown] = [dataclasses.asdict(t) for t in value] \
                if field.name == "transfers" else value
    return record


def _fit(name: str, width: int = NAME_WIDTH) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1):]


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

    kind = KINDS[s.kind]
    state = _state(s)
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=NAME_WIDTH + 2, no_wrap=True, style="bold")
    grid.add_column(ratio=1)
    grid.add_column(no_wrap=True)
    rate = "" if kind.moves_bytes else f" · {s.items_rate:,.1f}/s"
    # "walking…", "stopping…" beside the count; what the jobs wait for is a
    # sentence, on a line of its own (beside the bar it squeezed the bar out).
    going_on = state in ("stopping", kind.finding)
    grid.add_row(kind.noun, _bar(s.found, s.done),
                 f"{_items(s)}{rate}  {state + '…' if going_on else ''}".rstrip())
    if kind.moves_bytes:
        eta = human_duration(s.eta) if s.source_done else "-"
        grid.add_row("bytes", _bar(s.bytes_found, s.bytes_progress),
                     f"{_bytes(s)} · {human_rate(s.rate)} · ETA {eta}")
    if kind.pinned_bar:
        more = "" if s.source_done else "+"
        grid.add_row("pinned", _bar(s.found, s.pinned), f"{s.pinned:,}/{s.found:,}{more}")
    for transfer in s.transfers:
        _transfer_row(grid, transfer)
    hidden = s.in_flight - len(s.transfers)
    lines: list[RenderableType] = [grid]
    if kind.moves_bytes and hidden > 0:
        lines.append(Text(f"  … and {hidden:,} more in flight", style="dim"))
    if state and not going_on:
        lines.append(Text(state))
    lines.append(Text(counters_line(s)))
    return Group(*lines)
