"""Options shared by several commands, declared once."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..core.options import DEFAULT_PATIENCE, DEFAULT_WAIT_TIMEOUT
from ..unixfs import PROFILES, CidProfile, ProfileError, get_profile

F = TypeVar("F", bound=Callable[..., Any])

#: A testing knob, not a user option: the first (and reset) pause in seconds
#: between pin-job polls of push, pin and status --wait. The test suite sets it
#: small so a run that waits for ``pinned`` does not wait out whole seconds.
POLL_INTERVAL_VARIABLE = "BULKPIN_POLL_INTERVAL"


def poll_interval(default: float = 1.0) -> float:
    """``$BULKPIN_POLL_INTERVAL`` if set (a positive number of seconds), else ``default``."""
    value = os.environ.get(POLL_INTERVAL_VARIABLE, "")
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise click.UsageError(f"{POLL_INTERVAL_VARIABLE}={value!r}: not a positive number")
    return seconds


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


def refuse_unverifiable(profile: CidProfile, *, dry_run: bool = False) -> None:
    """A usage error for a profile no Decoo service can check uploads against.

    A service verifies a ``pinFile`` by hashing it again with the profile its
    ``decooMetadata.cidProfile`` names. Names with overrides (``--chunk-size``,
    ``--max-links``, ``--raw-leaves``, ``--cid-version`` beyond a named profile)
    are made up by this client, so no service knows them: the local one looks
    names up in :data:`~bulkpin.unixfs.PROFILES`, Decoo itself checks the
    default only. Every file would be refused with 400; one error up front says it.
    A ``dry_run`` sends nothing, so any profile will do.
    """
    if dry_run or profile.name in PROFILES:
        return
    raise click.UsageError(
        f"these CID options make profile {profile.name}, which no Decoo service can verify"
        f" (they know the named profiles: {', '.join(sorted(PROFILES))}), so every upload"
        " would be refused; use --cid-profile, or only compute the CIDs (--dry-run,"
        " bulkpin cid)"
    )


_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4,
}


class SizeType(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A byte count: ``1048576``, ``10M``, ``1.5GiB``; a trailing ``/s`` is allowed for rates."""

    name = "size"

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().removesuffix("/s").replace(" ", "")
        number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = text[len(number):]
        try:
            amount = float(number)
        except ValueError:
            self.fail(f"{value!r} is not a size such as 1048576, 10M or 1.5GiB", param, ctx)
        if unit not in _UNITS or amount < 0:
            self.fail(f"{value!r} is not a size such as 1048576, 10M or 1.5GiB", param, ctx)
        size = int(amount * _UNITS[unit])
        if size < self.minimum:
            self.fail(f"{value!r} is under the least allowed, {self.minimum} byte(s)", param, ctx)
        return size


class RateType(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A positive count per second: ``20`` or ``20/s``."""

    name = "rate"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip().lower().removesuffix("/s")
        try:
            rate = float(text)
        except ValueError:
            self.fail(f"{value!r} is not a rate such as 20/s", param, ctx)
        if rate <= 0:
            self.fail("a rate must be positive", param, ctx)
        return rate


_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


class DurationType(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A duration as rclone writes them: ``90``, ``90s``, ``10m``, ``2h``, ``7d``, ``1w``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip().lower()
        unit = text[-1:] if text[-1:] in _SECONDS else "s"
        try:
            seconds = float(text.removesuffix(unit) if text[-1:] in _SECONDS else text)
        except ValueError:
            self.fail(f"{value!r} is not a duration such as 30s, 10m, 2h or 7d", param, ctx)
        if seconds < 0:
            self.fail("a duration cannot be negative", param, ctx)
        return seconds * _SECONDS[unit]


def read_patterns(path: str) -> tuple[str, ...]:
    """Glob patterns from a file (``--exclude-from``): one per line, ``#`` comments."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except OSError as exc:
        raise click.UsageError(f"{path}: {exc.strerror}") from None
    return tuple(line for line in lines if line and not line.startswith("#"))


class AutoOrNumber(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """``auto`` (what ``auto()`` says: None for "decided as the run goes") or 1..``most``."""

    name = "auto|N"

    def __init__(self, most: int, auto: Callable[[], int | None] = lambda: None) -> None:
        self.most = most
        self.auto = auto

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return self.auto()
        try:
            number = int(text)
        except ValueError:
            self.fail(f"{value!r} is neither 'auto' nor a whole number", param, ctx)
        if not 1 <= number <= self.most:
            self.fail(f"{number} is not in 1..{self.most}", param, ctx)
        return number


SIZE = SizeType()
#: A size that must hold something (``--memory``: 0 would admit no upload).
POSITIVE_SIZE = SizeType(minimum=1)
RATE = RateType()
DURATION = DurationType()


def follow_options(func: F) -> F:
    """``--wait``, ``--wait-timeout`` and ``--patience``: following jobs and the service.

    The same on every command that moves things, with the defaults of
    :mod:`bulkpin.core.options`.
    """
    for option in reversed((
        click.option("--wait/--no-wait", default=True, show_default=True,
                     help="Wait until every pin job is final."),
        click.option("--wait-timeout", type=click.FloatRange(min=0),
                     default=DEFAULT_WAIT_TIMEOUT, show_default=True,
                     help="Seconds a job may stay failed, or all jobs make no progress,"
                          " before giving up."),
        click.option("--patience", type=click.FloatRange(min=0), default=DEFAULT_PATIENCE,
                     show_default=True,
                     help="Seconds the service may be unreachable before the run stops"
                          " (exit 3)."),
    )):
        func = option(func)
    return func
