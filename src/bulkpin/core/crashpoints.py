"""Test-only crash points: ``BULKPIN_CRASH_AT=POINT:N`` kills the process (SIGKILL)
the N-th time the pipeline passes POINT, so tests can prove that a ``kill -9`` at
that instant loses nothing. Unset (always, outside tests), each check is one
dictionary lookup.

Points: ``walk`` (a file was just found), ``hashing`` (a file is about to be
read and hashed before sending), ``sending`` (an upload's first bytes went out),
``after_send`` (an upload's file bytes are all sent, its answer not yet read),
``after_answer`` (the service answered, the journal does not know yet),
``commit`` (the kill lands while a journal commit runs), ``polling`` (between
two ``pinJobs`` pages), ``verified`` (a verification's outcome is committed, not
yet told).

``BULKPIN_SIGNAL_AT=POINT:N:SIGNAL[,POINT:N:SIGNAL...]`` sends the process
SIGINT or SIGTERM instead, and goes on: how tests stop a run in a given phase.
"""

from __future__ import annotations

import os
import signal
import threading
import time

_spec = os.environ.get("BULKPIN_CRASH_AT", "")
_point, _, _nth = _spec.partition(":")
_target = int(_nth or 1) if _point else 0
_hits = 0
_lock = threading.Lock()


def _due(point: str) -> bool:
    global _hits  # noqa: PLW0603 - one process-wide counter, by design
    if point != _point:
        return False
    with _lock:
        _hits += 1
        return _hits == _target


def _signal_plan() -> dict[tuple[str, int], signal.Signals]:
    plan = {}
    for item in filter(None, os.environ.get("BULKPIN_SIGNAL_AT", "").split(",")):
        point, nth, name = item.split(":")
        plan[(point, int(nth))] = signal.Signals[name]
    return plan


_signals = _signal_plan()
_signal_hits: dict[str, int] = {}


def crash_point(point: str) -> None:
    """Die here, now, if the environment asks for it (or send the asked signal)."""
    if _point and _due(point):
        os.kill(os.getpid(), signal.SIGKILL)
    if _signals:
        with _lock:
            _signal_hits[point] = hit = _signal_hits.get(point, 0) + 1
        sig = _signals.get((point, hit))
        if sig is not None:
            os.kill(os.getpid(), sig)


def crash_during(point: str, delay: float = 0.0005) -> None:
    """Die ``delay`` seconds from now, from another thread: lands inside what follows."""
    if _point and _due(point):
        def kill() -> None:
            time.sleep(delay)
            os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=kill, daemon=True).start()
