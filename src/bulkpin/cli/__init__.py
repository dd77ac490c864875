"""The ``bulkpin`` command line: one thin module per command.

Commands are imported only when invoked, so ``bulkpin cid`` does not pay for
loading aiohttp, and one command's import error cannot break the others.

Exit statuses, shared by every command: 0 success; 1 some items failed (each
reported on stderr); 2 usage or configuration error; 3 interrupted or timed
out (resumable).
"""

from __future__ import annotations

import importlib

import click

from .. import __version__
from .._gc import tune_gc
from .._malloc import tune_malloc
from ..exit_status import ExitStatus

EXIT_OK = ExitStatus.OK
EXIT_FAILED = ExitStatus.FAILED
EXIT_USAGE = ExitStatus.USAGE
EXIT_INTERRUPTED = ExitStatus.INTERRUPTED

#: command name -> "module:attribute" under bulkpin.cli
_COMMANDS: dict[str, str] = {
    "check": "check:check_command",
    "cid": "cid:cid_command",
    "jobs": "listing:jobs_command",
    "ls": "listing:ls_command",
    "manifest": "manifest:manifest_command",
    "pin": "pin:pin_command",
    "push": "push:push_command",
    "serve": "serve:serve_command",
    "status": "status:status_command",
    "verify": "verify:verify_command",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bulkpin")
def cli() -> None:
    """Pin large directory trees to the Decoo IPFS pinning service."""


def main() -> None:
    """Console-script entry point."""
    tune_malloc()
    tune_gc()
    cli(prog_name="bulkpin")
