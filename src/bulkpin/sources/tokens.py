"""A source's bearer token, from an environment variable or a private file.

The token becomes a :class:`~bulkpin.client.redact.Secret` at once, so it is
scrubbed from every message and log record (:func:`~bulkpin.client.redact.redact`)
and shows as ``<redacted>`` wherever it is printed. Errors name where the token
was looked for, never its value.

A token file that group or others may read or write is refused, as the client
refuses such a profile or key file (and ssh such a key): it is a credential.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..client.credentials import read_private_text
from ..client.redact import Secret
from .errors import SourceSpecError

__all__ = ["SourceToken", "load_token"]


@dataclass(frozen=True, slots=True)
class SourceToken:
    """A token and where it came from (``environment variable SRC_TOKEN``, ``file /x``)."""

    secret: Secret
    origin: str


def load_token(
    *,
    token_env: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SourceToken | None:
    """The token named by ``--from-token-env`` or ``--from-token-file`` (None if neither).

    Raises :class:`~.errors.SourceSpecError` when both are given, the variable
    is unset or empty, or the file cannot be read or is empty, and
    :class:`~bulkpin.client.errors.InsecureFileError` for a file others can read.
    """
    if token_env is not None and token_file is not None:
        raise SourceSpecError("give --from-token-env or --from-token-file, not both")
    if token_env is not None:
        env = os.environ if environ is None else environ
        value = env.get(token_env, "").strip()
        if not value:
            raise SourceSpecError(
                f"--from-token-env {token_env}: that environment variable is unset or empty"
            )
        return SourceToken(Secret(value), f"environment variable {token_env}")
    if token_file is not None:
        path = Path(token_file).expanduser()
        value = read_private_text(
            path, "token file", error=SourceSpecError, holds="the source's credentials"
        ).strip()
        if not value:
            raise SourceSpecError(f"--from-token-file {path}: the file is empty")
        return SourceToken(Secret(value), f"file {path}")
    return None
