"""Running a ``bulkpin`` command line in the test's own process.

A ``python -m bulkpin`` costs about 0.9 s of imports before it does anything;
most tests are about what a command does, not about the process around it, so
they run the click command here and read back the same exit status, stdout and
stderr a subprocess would give. (A few smoke tests per command still start the
real console script: signals, stdin, the exit of a whole process.)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from bulkpin.cli import cli

__all__ = ["bulkpin", "bulkpin_process", "invoke"]


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    # Commands configure the root logger (basicConfig(force=True)) with a
    # handler on the runner's stderr, which is closed once the run ends: give
    # the root logger back as it was, so later records reach pytest, not it.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def invoke(*args: str | Path, env: Mapping[str, str | None] | None = None,
           stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    """``bulkpin ARGS`` in-process: its exit status and output, as ``subprocess.run`` gives them.

    ``env`` sets (or, with None, unsets) variables for the run only. An
    exception that escapes the command is a traceback on stderr and exit 1, as
    the interpreter would make it.
    """
    argv = [str(a) for a in args]
    runner = CliRunner()
    with _root_logging_kept():
        result = runner.invoke(cli, argv, input=stdin, env=dict(env or {}),
                               prog_name="bulkpin", catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["bulkpin", *argv], result.exit_code,
                                       result.stdout, stderr)


def bulkpin(*args: str | Path, env: Mapping[str, str | None] | None = None,
            stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`invoke` with no ``BULKPIN_PROFILE`` (no stray account), plus ``env``."""
    return invoke(*args, env={"BULKPIN_PROFILE": None, **(env or {})}, stdin=stdin)


def bulkpin_process(*args: str | Path, env: Mapping[str, str | None] | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """:func:`bulkpin` as a whole ``python -m bulkpin`` process, stdin closed: for the
    smoke tests of what only a process shows (a hang, an exit, a signal)."""
    environ = {k: v for k, v in os.environ.items() if k != "BULKPIN_PROFILE"}
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run([sys.executable, "-m", "bulkpin", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env=environ, stdin=subprocess.DEVNULL)
