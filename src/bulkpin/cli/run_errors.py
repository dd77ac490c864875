"""How every run command turns what ends a run early into a message and an exit status.

A run's task groups wrap what ended it in exception groups; the first leaf is
what the user is told. The display stops drawing first, so the message is not
drawn over.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, Protocol, TypeVar

import click

from ..client import ConfigurationError
from ..push import JournalError, RunAborted
from . import EXIT_INTERRUPTED, EXIT_USAGE
from .journal_failure import journal_failure

__all__ = ["aborted_text", "first_leaf", "run_and_exit"]

S = TypeVar("S", bound="_Summary")
S_contra = TypeVar("S_contra", bound="_Summary", contravariant=True)


class _Summary(Protocol):
    @property
    def exit_status(self) -> int: ...


class Renderer(Protocol[S_contra]):
    """What shows a run: its events (not used here) and its summary."""

    def summary(self, summary: S_contra) -> None: ...


def aborted_text(exc: RunAborted) -> str:
    """What a run that could not go on says: why, and for exit 3, that it resumes.

    The summary says "Run the same command again" for a stopped run; a run that
    ends before its summary (a listing interrupted, an outage past --patience)
    must say it too.
    """
    text = f"error: {exc}"
    if exc.exit_status == EXIT_INTERRUPTED:
        text += "\nRun the same command again to resume."
    return text


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception of ``group`` that is no group."""
    first = group.exceptions[0]
    return first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def run_and_exit(run: Callable[[], S | None], renderer: Renderer[S]) -> NoReturn:
    """Render ``run()``'s summary and exit with its status; or say what ended it, and exit.

    The one exit mapping of ``push``, ``pin`` and ``verify``: exit 2 for
    configuration, journal and OS errors (nothing was done, or the journal says
    what was); a :class:`RunAborted` carries its own status; a run stopped
    before it had a summary (None) is exit 3. A renderer that draws (one with
    ``stop()``) stops before the message.
    """
    stop_drawing: Callable[[], None] = getattr(renderer, "stop", lambda: None)
    try:
        try:
            summary = run()
        except BaseExceptionGroup as group:
            raise first_leaf(group) from None
    except RunAborted as exc:
        stop_drawing()
        click.echo(aborted_text(exc), err=True)
        sys.exit(exc.exit_status)
    except JournalError as exc:
        stop_drawing()
        click.echo(journal_failure(exc), err=True)
        sys.exit(EXIT_USAGE)
    except (ConfigurationError, OSError) as exc:
        stop_drawing()
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if summary is None:
        click.echo("error: stopped at once; run the same command again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    renderer.summary(summary)
    sys.exit(summary.exit_status)
