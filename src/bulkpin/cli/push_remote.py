"""The options of ``bulkpin push s3://bucket/prefix`` and ``bulkpin push --urls FILE``.

:func:`remote_options` adds them to ``push``, collected into one
:class:`RemoteArgs` argument (so ``push`` gains one parameter);
:func:`run_remote` hands a remote push to :mod:`.remote_run`, imported only
then, so a local push never loads the S3 client.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from ..push import PushOptions
    from .target_options import Target

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["RemoteArgs", "remote_options", "run_remote"]

_S3 = "s3://"
_FIELDS = ("urls", "s3_endpoint_url", "s3_profile", "s3_region", "s3_path_style",
           "s3_no_sign_request")


@dataclass(frozen=True, slots=True)
class RemoteArgs:
    """The remote options of one ``push`` command line."""

    urls: str | None = None
    s3_endpoint_url: str | None = None
    s3_profile: str | None = None
    s3_region: str | None = None
    s3_path_style: bool = False
    s3_no_sign_request: bool = False

    def applies(self, paths: tuple[str, ...]) -> bool:
        """Whether this command line is a remote push."""
        return self.urls is not None or any(p.startswith(_S3) for p in paths)


def remote_options(func: F) -> F:
    """The remote sources' options, passed on as one ``remote: RemoteArgs`` argument."""
    decorators = [
        click.option("--urls", default=None, metavar="FILE",
                     help="Push HTTP(S) URLs listed in FILE, one per line, an optional pin"
                          " name after each ('-': stdin)."),
        click.option("--s3-endpoint-url", default=None, metavar="URL",
                     help="An S3-compatible store (MinIO, Ceph, R2...) [default: AWS]."),
        click.option("--s3-profile", default=None,
                     help="A ~/.aws profile [default: AWS_PROFILE, else the default chain]."),
        click.option("--s3-region", default=None, help="The bucket's region."),
        click.option("--s3-path-style", is_flag=True,
                     help="Address buckets as ENDPOINT/bucket (most self-hosted stores)."),
        click.option("--s3-no-sign-request", is_flag=True,
                     help="Send unsigned requests (public buckets; no credentials needed)."),
    ]

    @functools.wraps(func)
    def collect(*args: Any, **kwargs: Any) -> Any:
        remote = RemoteArgs(**{name: kwargs.pop(name) for name in _FIELDS})
        return func(*args, remote=remote, **kwargs)

    wrapped: Any = collect
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped  # type: ignore[no-any-return]


def run_remote(paths: tuple[str, ...], files_from: str | None, remote: RemoteArgs,
               options: PushOptions, target: Target,
               make_renderer: Callable[[], Any], read_timeout: float) -> NoReturn:
    """Run a remote push to its end and exit with its status (2 before anything is sent).

    ``make_renderer`` is called once the sources are checked, so an error
    found before the run starts is not drawn over by a progress display.
    """
    runner = importlib.import_module(f"{__package__}.remote_run")
    runner.main(paths, files_from, remote, options, target, make_renderer, read_timeout)
    raise AssertionError("remote_run.main returns only by exiting")
