"""The one line a command prints when its journal fails mid-run, saying what to do."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..push import JournalError

__all__ = ["journal_failure"]


def journal_failure(exc: JournalError) -> str:
    """The error line for ``exc``: how to set a damaged journal aside, else resume."""
    if exc.damaged and exc.path is not None:
        return (f"error: {exc}: the journal is damaged; move it aside ({_set_aside(exc.path)})"
                " and run the same command again: a new journal is made, and the account"
                " listing skips every file the account already holds")
    return (f"error: {exc}; nothing committed is lost: fix this, then run the same command"
            " again to resume")


def _set_aside(path: Path) -> str:
    """The ``mv`` commands moving the journal and its WAL files to ``<name>.damaged``.

    Its ``-wal`` and ``-shm`` go with it: a WAL left beside a new journal of
    the same name would be read into it.
    """
    moves = [f"mv {shlex.quote(str(path))} {shlex.quote(f'{path}.damaged')}"]
    for sidecar in ("-wal", "-shm"):
        if os.path.lexists(f"{path}{sidecar}"):
            moves.append(f"mv {shlex.quote(f'{path}{sidecar}')}"
                         f" {shlex.quote(f'{path}.damaged{sidecar}')}")
    return " && ".join(moves)
