"""The ``bulkpin`` command line: one thin module per command.

Exit statuses, shared by every command: 0 success; 1 some items failed (each
reported on stderr); 2 usage or configuration error; 3 interrupted or timed
out (resumable).
"""

from __future__ import annotations

import click

from .. import __version__
from .cid import cid_command

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bulkpin")
def cli() -> None:
    """Pin large directory trees to the Decoo IPFS pinning service."""


cli.add_command(cid_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="bulkpin")
