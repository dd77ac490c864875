"""Options shared by several commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..unixfs import PROFILES, CidProfile, ProfileError, get_profile

F = TypeVar("F", bound=Callable[..., Any])


def cid_profile_options(func: F) -> F:
    """``--cid-profile`` and the explicit overrides of ``ipfs add``."""
    decorators = [
        click.option(
            "--cid-profile", "cid_profile", type=click.Choice(sorted(PROFILES)),
            default=None, help="Named CID profile [default: unixfs-v0-2015, Decoo's].",
        ),
        click.option("--chunk-size", type=click.IntRange(min=1), default=None,
                     help="Override the chunk size in bytes."),
        click.option("--max-links", type=click.IntRange(min=2), default=None,
                     help="Override the maximum links per node."),
        click.option("--raw-leaves/--no-raw-leaves", default=None,
                     help="Override whether leaves are raw blocks."),
        click.option("--cid-version", type=click.IntRange(0, 1), default=None,
                     help="Override the CID version."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def build_profile(
    cid_profile: str | None,
    chunk_size: int | None,
    max_links: int | None,
    raw_leaves: bool | None,
    cid_version: int | None,
) -> CidProfile:
    """The profile the options describe, or a usage error."""
    if raw_leaves and cid_version is None and cid_profile is None:
        # As kubo does: raw leaves can only be named by CIDv1.
        cid_version = 1
    try:
        return get_profile(
            cid_profile, chunk_size=chunk_size, max_links=max_links,
            raw_leaves=raw_leaves, cid_version=cid_version,
        )
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from exc
