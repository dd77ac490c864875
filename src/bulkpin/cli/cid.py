"""``bulkpin cid``: print CIDs as ``ipfs add --only-hash`` would."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..unixfs import TreeEntry, TreeImporter
from ..unixfs.tree import DEFAULT_HASH_WORKERS
from .logs import configure_logging, logging_options
from .options import build_profile, cid_profile_options


@click.command("cid")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-r", "--recursive", is_flag=True, help="Import directories recursively.")
@cid_profile_options
@click.option("--hidden", is_flag=True, help="Include names that start with a dot.")
@click.option("--hash-workers", type=click.IntRange(min=1), default=DEFAULT_HASH_WORKERS,
              show_default=True,
              help="Threads hashing files in parallel; a large file's chunks are shared out too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line: path, cid, size.")
@logging_options(quiet="Only the CIDs, one a line (as ipfs add -q).")
def cid_command(
    paths: tuple[str, ...],
    recursive: bool,
    cid_profile: str | None,
    chunk_size: int | None,
    max_links: int | None,
    raw_leaves: bool | None,
    cid_version: int | None,
    hidden: bool,
    hash_workers: int,
    as_json: bool,
    verbose: int,
    quiet: bool,
    log_file: Path | None,
    log_format: str,
) -> None:
    """Print the CID of every file and directory under PATHS, the roots last.

    Nothing is uploaded. A path that cannot be read is reported on stderr, the
    others are still processed, and the exit status is 1.
    """
    configure_logging(verbose, quiet, log_file, log_format)
    profile = build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version)
    importer = TreeImporter(profile, recursive=recursive, hidden=hidden, hash_workers=hash_workers)
    out = sys.stdout.buffer
    failed = 0
    for result in importer.run(paths):
        if isinstance(result, TreeEntry):
            if as_json:
                record = {
                    "path": os.fsdecode(result.path), "cid": result.cid, "kind": result.kind,
                    "size": result.size, "tsize": result.tsize,
                }
                out.write(json.dumps(record).encode() + b"\n")
            elif quiet:
                out.write(result.cid.encode() + b"\n")
            else:
                out.write(b"added " + result.cid.encode() + b" " + result.path + b"\n")
        else:
            failed += 1
            out.flush()
            click.echo(f"error: {os.fsdecode(result.path)}: {result.message}", err=True)
    out.flush()
    if failed:
        raise SystemExit(1)
