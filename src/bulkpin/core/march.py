"""The march: what one item of any source needs, held against the journal and the account.

rclone's ``fs/march`` on bulkpin's terms. Every planner (the local walk's,
a bucket's or URL list's, a CID list's) records its item in its journal by
its own hooks, then asks :func:`march` what the item's row needs:

- ``again``: met before in this run (overlapping PATHs or locations, a
  repeated line, a page overlap): one item, taken once;
- ``lost``: the journal calls it pinned but the account no longer holds it
  (the journal is a cache): forget the pin and send it again;
- ``skip``: nothing is left to do (pinned, or sent by an earlier run whose job
  the poller follows);
- ``held``: the account already holds the CID or has a job for it (asked only
  of sources that know their CIDs before sending): record it, send nothing;
- ``send``: to the movers, with ``verify`` when an earlier run may have sent it
  and no index can say it did not (look for its job before sending again).

The rule speaks the one state machine (:data:`MarchState`); the items table's
names are mapped to it by :func:`file_state`. Without an
account index (``--no-account-listing``) the journal is trusted.
:func:`march_stream` is the planning stage's loop around a planner's hook;
:func:`march_them` that stage for a source of ``push`` (its
:class:`~bulkpin.sources.items.Marcher`), with the sweep of what it no longer lists.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar, cast

import anyio
from anyio.streams.memory import MemoryObjectSendStream

if TYPE_CHECKING:
    from ..push.account_index import Held
    from ..sources.items import Marcher

__all__ = [
    "Holdings", "MarchState", "Step", "Verdict", "Work", "file_state", "march", "march_stream",
    "march_them",
]

#: An item's journal state in the words of the one state machine:
#: discovered -> sending -> sent (a job) -> pinned | failed | gone | skipped.
MarchState = Literal["discovered", "sending", "sent", "pinned", "failed", "gone", "skipped"]

Verdict = Literal["again", "lost", "skip", "held", "send"]

#: The items table's names for what the march calls ``sending`` and ``sent``.
_FILE_STATES: dict[str, MarchState] = {"uploading": "sending", "uploaded": "sent"}

T = TypeVar("T")
W = TypeVar("W")
R = TypeVar("R")


class Holdings(Protocol):
    """What the march asks of the account index (:class:`~.account_index.AccountIndex`)."""

    def holds(self, cid: str) -> Held | None: ...


@dataclass(frozen=True, slots=True)
class Step:
    """What one item needs (:func:`march`)."""

    verdict: Verdict
    #: ``send``: an earlier run may have sent it: look for its job first.
    verify: bool = False
    #: What the account index says of the CID, when it was asked.
    held: Held | None = None


@dataclass(slots=True)
class Work(Generic[R]):
    """An item the march sends to a mover: its journal row, and ``verify`` when an
    earlier run may have sent it (its job is looked for first). A mover that
    learns it may have sent it sets ``verify`` itself."""

    record: R
    verify: bool = False


def file_state(state: str) -> MarchState:
    """An item's state (``uploading``, ``uploaded``...) as the march names it."""
    return _FILE_STATES.get(state) or cast(MarchState, state)


def march(state: MarchState, cid: str | None, *, seen_run: int | None, run_id: int,
          index: Holdings | None, ask_held: bool = False) -> Step:
    """The one rule: what an item recorded as ``state`` (with ``cid``, if known) needs.

    ``ask_held``: the item's CID is known before anything is sent (a CID list),
    so the account index is asked whether it already holds it; the movers of
    bytes ask that once they have hashed.
    """
    if seen_run == run_id:
        return Step("again")
    if _pin_lost(index, state, cid):
        return Step("lost")
    held = index.holds(cid) if ask_held and index is not None and cid is not None else None
    if state in ("pinned", "sent"):
        return Step("skip", held=held)
    if held is not None:
        return Step("held", held=held)
    # "sending": a run stopped while it was sent. "failed": tried again, but a
    # failed job or an unknown outcome may have left a job behind. With a fresh
    # index asked, neither has an active job (it would be held).
    asked = ask_held and index is not None
    return Step("send", verify=state in ("sending", "failed") and not asked)


def _pin_lost(index: Holdings | None, state: MarchState, cid: str | None) -> bool:
    """Whether a row the journal calls pinned is no longer pinned on the account.

    A job not yet final does not keep a pin (it may fail); without an index
    the journal is trusted.
    """
    if state != "pinned" or cid is None or index is None:
        return False
    held = index.holds(cid)
    return held is None or not held.pinned


async def march_stream(
    batches: AsyncIterable[Sequence[T]],
    work: MemoryObjectSendStream[W],
    plan: Callable[[T], W | None],
    *,
    stop: anyio.Event,
    stop_asked: Callable[[], None],
    after_batch: Callable[[], None],
) -> bool:
    """Items in, work out, until the source ends (True) or the run stops (False).

    ``after_batch`` runs after each batch and once more at the end, however
    the loop ends (what a planner batched must be written).
    """
    async with work:
        try:
            async for batch in batches:
                for entry in batch:
                    if stop.is_set():
                        stop_asked()
                        return False
                    item = plan(entry)
                    if item is None:
                        continue
                    try:
                        await work.send(item)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return False  # every worker stopped: the run is stopping
                after_batch()
        finally:
            after_batch()
    return True


async def march_them(
    batches: AsyncIterable[Sequence[T]],
    work: MemoryObjectSendStream[W],
    marcher: Marcher[T, W],
    *,
    stop: anyio.Event,
    stop_asked: Callable[[], None],
    listed: Callable[[], None],
) -> None:
    """The march of one source: its entries in, work out, then what it no longer lists.

    A listing that ran to its end and names everything under its roots
    (``marcher.whole``) sweeps what it did not meet; ``listed`` is told the
    listing is over, unless the run stopped first.
    """
    if not await march_stream(batches, work, marcher.plan, stop=stop, stop_asked=stop_asked,
                              after_batch=marcher.after_batch):
        return
    if marcher.whole:
        marcher.sweep_gone()
    listed()
