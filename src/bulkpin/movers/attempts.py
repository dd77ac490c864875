"""The one item loop of the ``pinFile`` movers: one item, tried until it has an outcome.

Whatever an item's bytes are read from (a local file, an ``s3://`` object, a
URL), an attempt ends one of four ways, and only the first three are the
reader's to say:

- the item changed under the read: found again (:meth:`Attempts.refound`) and
  read again, at most :data:`~.pin_file.MAX_CHANGED_RETRIES` times, then failed;
- it cannot be read: failed, or ``gone`` where the reader can tell it was deleted;
- the service answered with an error: the item tier's verdict
  (:meth:`~.pin_file.PinFileMover.after_error`): again after a pause, with a
  ``pinJobs`` look first (the item may have been sent), failed, or the run stopped;
- done.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, TypeVar

from ..client import DecooError
from ..core.errors import reason_of
from ..journal import FileRecord
from .pin_file import MAX_CHANGED_RETRIES, PinFileMover

__all__ = ["Attempts", "Verifiable", "take"]


class Verifiable(Protocol):
    """An item that says whether a past attempt may have sent it."""

    verify: bool


V = TypeVar("V", bound=Verifiable)
V_contra = TypeVar("V_contra", bound=Verifiable, contravariant=True)


class Attempts(Protocol[V_contra]):
    """What a reader of one kind of item tells the loop (:func:`take`)."""

    @property
    def changed_errors(self) -> tuple[type[BaseException], ...]:
        """What an attempt raises when the item changed while it was read."""

    @property
    def unreadable_errors(self) -> tuple[type[BaseException], ...]:
        """What an attempt raises when the item cannot be read (after ``changed_errors``)."""

    def name(self, item: V_contra) -> str | None:
        """The item's name while in flight (its pace is followed), or None."""

    def record(self, item: V_contra) -> FileRecord:
        """The item's journal row as it is now."""

    async def once(self, item: V_contra) -> None:
        """One attempt: read, deduplicate, send."""

    async def refound(self, item: V_contra, exc: BaseException, *, last: bool) -> bool:
        """After a change: whether the item was found again, to read again (never if ``last``)."""

    def unreadable(self, item: V_contra, exc: BaseException) -> None:
        """Record the item failed (or gone) for ``exc``, one of :attr:`unreadable_errors`."""

    def fail(self, item: V_contra, message: str) -> None:
        """Record the item failed, for ``message``."""


async def take(item: V, reader: Attempts[V], mover: PinFileMover) -> None:
    """Take one item to an outcome (or raise :class:`~bulkpin.core.errors.RunAborted`)."""
    changed = attempt = 0
    name = reader.name(item)
    mover.acct.begin(name, reader.record(item).size if name is not None else 0)
    try:
        while True:
            try:
                await reader.once(item)
            except reader.changed_errors as exc:
                changed += 1
                if not await reader.refound(item, exc, last=changed > MAX_CHANGED_RETRIES):
                    reader.fail(item, f"{reason_of(exc)}; not pinned")
                    return
            except reader.unreadable_errors as exc:
                reader.unreadable(item, exc)
                return
            except DecooError as exc:
                if not await mover.after_error(reader.record(item), exc, attempt,
                                               partial(reader.fail, item)):
                    return
                attempt += 1
                item.verify = True  # it may have been sent: ask pinJobs before sending again
            else:
                return
    finally:
        mover.acct.end(name)
