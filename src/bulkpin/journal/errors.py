"""The journal's exceptions: it cannot be opened or written (exit 2), or another run holds it.

SQLite's own errors stay inside this package where it can wrap them; a caller
that reads rows may still meet one, so :data:`JOURNAL_ERRORS` names both for
an ``except`` outside the package, which has no business importing sqlite3.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["DATABASE_ERRORS", "JOURNAL_ERRORS", "JournalError", "JournalLocked", "is_damage"]


class JournalError(Exception):
    """The journal cannot be opened or written (locked, corrupt, disk full...).

    ``path`` is the journal's file, where the raiser knows it; ``damaged`` says
    SQLite found the file corrupt (no retry mends it), not full or locked. Both
    are attributes, not read from ``__cause__``: the CLI re-raises the error out
    of its task groups ``from None``.
    """

    def __init__(self, message: str, path: Path | None = None, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.damaged = damaged


class JournalLocked(JournalError):
    """Another run holds the journal."""


#: What a failing journal raises: its own error, or SQLite's from a read.
JOURNAL_ERRORS: tuple[type[Exception], ...] = (JournalError, sqlite3.Error)
#: ... of which the file's failures (full, corrupt, locked), not a misuse of it.
DATABASE_ERRORS: tuple[type[Exception], ...] = (JournalError, sqlite3.DatabaseError)

#: SQLite's primary codes for a file that is not (or no longer) a whole database.
_DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def is_damage(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an error it was raised from, is SQLite finding a corrupt file."""
    while exc is not None:
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _DAMAGE_CODES:
            return True
        exc = exc.__cause__
    return False
