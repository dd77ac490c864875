"""Logging for the commands that run long: how loud, where to, in what form.

``-v``/``-vv`` raise the level (info, debug), ``-q`` lowers it to errors;
``--log-file`` sends records to a file instead of stderr (the progress display
keeps the terminal); ``--log-format json`` writes one JSON object per record,
for log shippers. Secrets never reach a record: the client's redacting filter
sits on every handler (``bulkpin.client.RedactingFilter``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

import click

from ..client import RedactingFilter

__all__ = ["configure_logging", "logging_options"]

F = TypeVar("F", bound=Callable[..., Any])


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


#: What ``-q`` keeps, by default: every command prints less with it, in its own terms.
QUIET_HELP = "Only errors and the final line: no progress, no notices."


@overload
def logging_options(func: F) -> F: ...
@overload
def logging_options(*, quiet: str) -> Callable[[F], F]: ...
def logging_options(func: F | None = None, *, quiet: str = QUIET_HELP) -> Any:
    """``-v``, ``-q``, ``--log-file`` and ``--log-format``, the same on every command.

    ``quiet`` says what ``-q`` keeps of this command's output. Usable bare
    (``@logging_options``) or with it (``@logging_options(quiet="...")``).
    """
    if func is None:
        return lambda f: _logging_options(f, quiet)
    return _logging_options(func, quiet)


def _logging_options(func: F, quiet: str) -> F:
    decorators = [
        click.option("-v", "--verbose", count=True, help="Log more (-vv: debug)."),
        click.option("-q", "--quiet", is_flag=True, help=quiet),
        click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help="Write log records to FILE instead of stderr."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="One line of text, or one JSON object, a record."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def configure_logging(verbose: int, quiet: bool, log_file: Path | None, log_format: str) -> None:
    """Set up the root logger as the options say."""
    level = logging.ERROR if quiet else logging.WARNING - 10 * min(verbose, 2)
    try:
        handler: logging.Handler = (
            logging.FileHandler(log_file, encoding="utf-8") if log_file is not None
            else logging.StreamHandler(sys.stderr)
        )
    except OSError as exc:
        raise click.UsageError(f"--log-file {log_file}: {exc.strerror}") from None
    handler.setFormatter(
        _JsonFormatter() if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
