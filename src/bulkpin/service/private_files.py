"""The data dir is private to the service's user: the directory 0700, its files 0600.

The database holds every account's RSA private key and the signing secret mints
API keys, so nobody else may read them, nor replace them. Each file and
directory is created with its final mode (an explicit mode at ``open`` or
``mkdir``, which the umask can only narrow), never loosened first and tightened
by a ``chmod`` afterwards: that would leave a window in which the file is
readable. Files an older version left looser are tightened when the service
opens them.

A data dir that other users can write to is refused unless the operator says
otherwise (:class:`SharedDataDirError`): whoever can write there can swap the
database or the secret. One they can only read is served, with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("bulkpin.service")

#: Mode of the data dir and of every directory the service makes in it.
PRIVATE_DIR = 0o700
#: Mode of every file the service writes in it.
PRIVATE_FILE = 0o600
#: ``bulkpin serve`` runs under this umask, so a file made by a library that
#: takes no mode (SQLite's journals, say) is private too.
SERVICE_UMASK = 0o077
#: The permission bits for group and others.
_OTHERS = 0o077
_OTHERS_WRITE = 0o022


class SharedDataDirError(Exception):
    """The data dir can be written by other users, and that was not allowed."""


def make_private_dir(path: Path) -> None:
    """Create ``path`` (0700) if missing; missing parents get the usual mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=PRIVATE_DIR, exist_ok=True)


def check_data_dir(path: Path, *, allow_shared: bool) -> None:
    """Refuse a data dir others can write to (unless ``allow_shared``); warn if they can read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & _OTHERS_WRITE and not allow_shared:
        raise SharedDataDirError(
            f"{path} can be written by other users (mode {mode:04o}): they could replace the"
            f" database, which holds the accounts' private keys, or the signing secret."
            f" Run 'chmod 700 {path}', or pass --allow-shared-data-dir to serve anyway"
        )
    if mode & _OTHERS:
        log.warning(
            "%s can be %s by other users (mode %04o); its files are private (0600), but"
            " 'chmod 700 %s' keeps them from even listing them",
            path, "written to" if mode & _OTHERS_WRITE else "read", mode, path,
        )


def tighten(path: Path) -> None:
    """Make an existing file private if an older version left it readable by others."""
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & _OTHERS:
        os.chmod(path, mode & ~_OTHERS & 0o777, follow_symlinks=False)


def create_private_file(path: Path) -> None:
    """Make sure ``path`` exists, empty if new, and is readable by its owner only.

    SQLite creates a database 0644 (less what the umask removes), and its WAL
    and shared-memory files copy the database's mode: creating the database
    file here first, 0600, makes all three private whatever the umask.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & _OTHERS:  # there already, made by an older version
            os.fchmod(fd, mode & ~_OTHERS & 0o777)
    finally:
        os.close(fd)


__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "SERVICE_UMASK",
    "SharedDataDirError",
    "check_data_dir",
    "create_private_file",
    "make_private_dir",
    "tighten",
]
