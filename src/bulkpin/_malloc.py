"""Tune glibc's allocator for a process that streams large buffers.

Two defaults of glibc's malloc cost bulkpin dearly:

- Each thread that allocates gets its own arena (up to 8 per core). An upload
  reads buffers in one thread and frees them in another, so freed memory is
  kept in several arenas at once: about 10 MiB of peak RSS on a 1 GiB push,
  for nothing. Two arenas keep the contention low and the peak flat.
- Blocks over the mmap threshold get their own mapping, returned to the
  kernel when freed. The threshold adapts to the largest block freed, but a
  block of exactly that size is still mapped, so the socket reads of a large
  upload (hundreds of KiB each, the same size every time) were each a fresh
  mapping: page faults and zeroed pages on every read, a third of the local
  service's CPU on a 1 GiB upload. A fixed 4 MiB threshold serves them from
  the heap, and a trim threshold stops the heap's top from being handed back
  and faulted in again between reads: 16 MiB for the service
  (:data:`SERVICE_TRIM_THRESHOLD`), 4 MiB elsewhere, where a client's peak
  memory counts more (its buffers are 1 MiB; 4 MiB keeps them).

This must run before the first thread starts; elsewhere than glibc it does
nothing.
"""

from __future__ import annotations

import ctypes
import sys

# mallopt() parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

ARENAS = 2
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = 4 << 20
SERVICE_TRIM_THRESHOLD = 16 << 20


def tune_malloc(trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Apply the settings above; True if glibc accepted them all.

    The arena cap must come before the first thread; the thresholds may be
    changed again later (``bulkpin serve`` raises the trim threshold).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        # The process's own symbols, libc's among them: ctypes.util.find_library
        # would import shutil and subprocess and run ldconfig, 10 ms of every
        # command's start-up for a name the process has already loaded.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    settings = (
        (_M_ARENA_MAX, ARENAS),
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, trim_threshold),
    )
    # A list, not a generator: every setting is applied even if one fails.
    return all([bool(mallopt(param, value)) for param, value in settings])  # noqa: C419
