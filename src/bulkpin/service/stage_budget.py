"""How many extra upload stages the service may hold at once, across all uploads.

Every upload gets one stage (it is where a small upload lives whole). A large
upload hashes and writes faster with a ring of several (see ``upload.py``),
and those extra stages come from this shared budget: without it, memory grew
by the whole ring (16 MiB) per concurrent large upload, so a push of big
files at the client's default concurrency could take a gigabyte.

An upload takes an extra stage only when one is free and never waits for
one: with just its own stage it still goes on, hashing and writing that
stage before refilling it. Nothing waits on the budget, so no upload can be
stalled (or its client time out) because others hold it.
"""

from __future__ import annotations


class StageBudget:
    """A count of extra stages: taken if free, given back when an upload ends."""

    def __init__(self, stages: int) -> None:
        if stages < 0:
            raise ValueError("a stage budget cannot be negative")
        self.capacity = stages
        self.in_use = 0
        #: The most ever held at once (``/_admin/stats`` shows it).
        self.peak = 0

    def try_take(self) -> bool:
        """Take one stage if one is free."""
        if self.in_use >= self.capacity:
            return False
        self.in_use += 1
        self.peak = max(self.peak, self.in_use)
        return True

    def give(self, stages: int) -> None:
        """Give back stages taken with :meth:`try_take`."""
        if not 0 <= stages <= self.in_use:
            raise ValueError(f"giving back {stages} stages, {self.in_use} are taken")
        self.in_use -= stages

    def snapshot(self) -> dict[str, int]:
        """What ``/_admin/stats`` reports."""
        return {"capacity": self.capacity, "in_use": self.in_use, "peak": self.peak}
