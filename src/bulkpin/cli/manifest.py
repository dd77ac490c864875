"""``bulkpin manifest``: work with the manifests ``bulkpin push`` writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..manifests import ManifestReadError, MergeConflict, MergeResult, merge_manifests
from .options import build_profile, cid_profile_options


@click.group("manifest")
def manifest_command() -> None:
    """Work with push manifests (JSON Lines or CSV)."""


@manifest_command.command("merge")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the merged manifest here (.jsonl or .csv) [default: stdout, JSONL].")
@cid_profile_options
@click.option("--json", "as_json", is_flag=True,
              help="Print a summary as one JSON object on stdout (needs -o).")
def merge_command(
    files: tuple[Path, ...],
    output: Path | None,
    cid_profile: str | None,
    chunk_size: int | None,
    max_links: int | None,
    raw_leaves: bool | None,
    cid_version: int | None,
    as_json: bool,
) -> None:
    """Join shard manifests (FILE...) into one, with the tree's root CID computed from them.

    Shards' own root rows are dropped; one root row per top directory ends the
    merged manifest, computed from the file rows' CIDs and sizes without
    reading the data again (it equals 'bulkpin cid -r' of the tree). Give
    the CID profile the files were pushed with.

    Exit status 1, and no root row, when a shard's manifest is missing (each
    shard's root row says I/N), or a file is not pinned or uploaded or was
    skipped (a symlink); exit 1 and nothing written when two manifests
    disagree about a path.
    """
    if as_json and output is None:
        raise click.UsageError("--json prints a summary on stdout; name the manifest with -o")
    profile = build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version)
    try:
        if output is None:
            result = merge_manifests(files, stream=sys.stdout, profile=profile)
        else:
            result = merge_manifests(files, output=output, profile=profile)
    except ManifestReadError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except MergeConflict as exc:
        click.echo(f"error: {exc}; nothing written", err=True)
        raise SystemExit(1) from None
    _report(result, as_json)
    if result.problem is not None:
        raise SystemExit(1)


def _report(result: MergeResult, as_json: bool) -> None:
    if as_json:
        summary = {
            "manifests": result.manifests, "files": result.files,
            "duplicates": result.duplicates, "problem": result.problem,
            "roots": [{"path": r.path, "cid": r.cid, "size": r.size, "files": r.files}
                      for r in result.roots],
        }
        click.echo(json.dumps(summary))
        return
    copies = f" ({result.duplicates} identical rows dropped)" if result.duplicates else ""
    click.echo(f"merged {result.manifests} manifests: {result.files} files{copies}", err=True)
    for root in result.roots:
        click.echo(f"root {root.cid} {root.path}", err=True)
    if result.problem is not None:
        click.echo(f"no root CID: {result.problem}", err=True)
