"""The exit statuses every ``bulkpin`` command shares, in one place.

Kept in a module of its own, importing nothing, so the CLI can name them
without loading the network stack.
"""

from __future__ import annotations

import enum

__all__ = ["ExitStatus"]


class ExitStatus(enum.IntEnum):
    """How a command ended; scripts and Kubernetes act on these numbers."""

    #: Everything done.
    OK = 0
    #: Some items failed; each is reported (and in the manifest).
    FAILED = 1
    #: A usage or configuration error: nothing (more) was sent.
    USAGE = 2
    #: Interrupted or timed out: run the same command again to resume.
    INTERRUPTED = 3
