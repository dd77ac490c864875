"""The state of a run at one instant, whatever its kind: the one thing a display draws.

Every run (``push``, ``pin``, ``verify``) finds items, works on them and ends
each once, so the counts every run has are fields of :class:`Snapshot`; what
only one kind counts (files uploaded, CIDs requested, CIDs proven corrupt...)
is a small table of named counts, :attr:`Snapshot.counts`. Nothing in it is a
rate of one process alone or a reference to a live object: snapshots of runs
of one kind side by side (``--processes N``) add up with :func:`merge`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["TRANSFERS_SHOWN", "RunKind", "Snapshot", "Transfer", "merge"]

#: What kind of run a snapshot is of: it decides only how a display labels it.
RunKind = Literal["push", "pin", "verify"]

#: Uploads in flight a snapshot names (the largest): a display shows a few
#: bars, not one per worker.
TRANSFERS_SHOWN = 4


@dataclass(frozen=True, slots=True)
class Transfer:
    """One upload in flight: the file's display name, its size, its bytes sent so far."""

    name: str
    size: int
    sent: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of a run at one instant.

    ``bytes_done`` counts the items done (sent, held, unchanged, failed...);
    ``bytes_moving`` the bytes sent so far of the items still in flight, so the
    two together move while a large file is sent. A kind that moves no bytes
    of its own (``pin``) leaves every ``bytes_`` field 0.
    """

    kind: RunKind
    elapsed: float
    #: the source has given every item it has (the walk, the listing, the input)
    source_done: bool
    #: items taken from the source (this shard's, each once)
    found: int
    #: ... of which the work stage is done with
    done: int
    in_flight: int
    #: items the journal calls pinned
    pinned: int = 0
    failed: int = 0
    retries: int = 0
    waiting_jobs: int = 0
    #: of the waiting jobs, those failed that the service may still retry, and the
    #: seconds before the first of them is given up on (--wait-timeout)
    failing_jobs: int = 0
    gives_up_in: float | None = None
    bytes_found: int = 0
    bytes_done: int = 0
    bytes_sent: int = 0
    bytes_moving: int = 0
    #: bytes sent per second, smoothed (core.rate.RATE_TIME_CONSTANT)
    rate: float = 0.0
    #: items done per second since the start
    items_rate: float = 0.0
    #: a stop was asked: nothing new starts, the source is no longer read
    stopping: bool = False
    #: the largest uploads in flight (at most TRANSFERS_SHOWN), largest first
    transfers: tuple[Transfer, ...] = ()
    #: what only this kind of run counts, by name (a kind sets every name it has)
    counts: Mapping[str, int] = field(default_factory=dict)

    def count(self, name: str) -> int:
        """One of the kind's own counts (0 if it has none of that name)."""
        return self.counts.get(name, 0)

    @property
    def bytes_progress(self) -> int:
        """Bytes of the items found that are done or sent so far."""
        return self.bytes_done + self.bytes_moving

    @property
    def eta(self) -> float | None:
        """Seconds until every byte found is sent, if the rate holds.

        None while the source is read: the total is not known, and an ETA to
        the end of what was found so far would read as the end of the run.
        """
        left = self.bytes_found - self.bytes_progress
        if not self.source_done or self.rate <= 0 or left <= 0:
            return None
        return left / self.rate


#: The fields that add when runs are merged (the rest: see :func:`merge`).
_ADDED = ("found", "done", "in_flight", "pinned", "failed", "retries", "waiting_jobs",
          "failing_jobs", "bytes_found", "bytes_done", "bytes_sent", "bytes_moving", "rate",
          "items_rate")


def merge(snapshots: Iterable[Snapshot]) -> Snapshot:
    """One snapshot of runs of one kind that go on side by side (at least one).

    Counts and rates add; the runs are as old as the oldest, done finding when
    all are, stopping when any is; a failed job gives up first where it does first.
    """
    parts = list(snapshots)
    first = parts[0]
    if any(s.kind != first.kind for s in parts):
        raise ValueError("only snapshots of one kind of run merge")
    counts: dict[str, int] = {}
    for s in parts:
        for name, n in s.counts.items():
            counts[name] = counts.get(name, 0) + n
    added = {name: sum(getattr(s, name) for s in parts) for name in _ADDED}
    deadlines = [s.gives_up_in for s in parts if s.gives_up_in is not None]
    moving = heapq.nlargest(TRANSFERS_SHOWN, (t for s in parts for t in s.transfers),
                            key=lambda t: t.size)
    return Snapshot(
        kind=first.kind, elapsed=max(s.elapsed for s in parts),
        source_done=all(s.source_done for s in parts),
        stopping=any(s.stopping for s in parts),
        gives_up_in=min(deadlines) if deadlines else None,
        transfers=tuple(moving), counts=counts, **added,
    )
