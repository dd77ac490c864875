"""``--from SPEC``: which source a spec names, checked before anything is sent.

=====================  =========================================================
``-``                  a CID list on standard input
a path                 a CID list in that file (it must exist and not be a directory)
``psa:URL``            a Pinning Service API, ``URL`` its root (``https://…/psa``)
``kubo:URL``           a kubo node's RPC API (``http://127.0.0.1:5001``)
=====================  =========================================================

The token (``--from-token-env NAME`` or ``--from-token-file PATH``) is read
here too, so a missing variable or an insecure file is reported at once.
Anything else is a :class:`~.errors.SourceSpecError` (a ``ValueError``).
Sources for other schemes (``s3://``...) are added to :data:`_OPENERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from ..client.retry import RetryPolicy
from ._transport import DEFAULT_READ_TIMEOUT
from .cidlist import STDIN, CidListSource
from .errors import SourceSpecError
from .items import PinSource
from .kubo import KuboSource
from .psa import PsaSource
from .tokens import SourceToken, load_token

__all__ = ["open_source"]

_USAGE: Final = "a CID list file, '-' for stdin, psa:URL or kubo:URL"

Opener = Callable[[str, SourceToken | None, RetryPolicy | None, float], PinSource]


def _service_url(spec: str, url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceSpecError(
            f"--from {spec}: expected an http:// or https:// URL after the prefix"
        )
    if parts.query or parts.fragment:
        raise SourceSpecError(f"--from {spec}: the URL must not have a query or a fragment")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise SourceSpecError(f"--from {spec}: the URL's port is not valid") from None
    return url.strip().rstrip("/")


def _open_psa(url: str, token: SourceToken | None, retry: RetryPolicy | None,
              read_timeout: float) -> PinSource:
    if token is None:
        raise SourceSpecError(
            f"--from psa:{url}: a Pinning Service API needs a token: "
            "--from-token-env NAME or --from-token-file PATH"
        )
    return PsaSource(url, token, retry=retry, read_timeout=read_timeout)


def _open_kubo(url: str, token: SourceToken | None, retry: RetryPolicy | None,
               read_timeout: float) -> PinSource:
    return KuboSource(url, token, retry=retry, read_timeout=read_timeout)


#: Prefix -> what opens it with its URL.
_OPENERS: Final[Mapping[str, Opener]] = {"psa": _open_psa, "kubo": _open_kubo}


def open_source(
    spec: str,
    *,
    token_env: str | None,
    token_file: Path | None,
    retry: RetryPolicy | None = None,
    environ: Mapping[str, str] | None = None,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> PinSource:
    """The source ``spec`` names (see the module docstring), ready to list.

    ``retry``: the run's retry policy, to share its budget (default: a fresh one).
    ``read_timeout``: how long one answer of the source may take, whole (``--timeout``).
    ``environ`` replaces ``os.environ`` for ``token_env``. Raises
    :class:`~.errors.SourceSpecError` (or
    :class:`~bulkpin.client.errors.InsecureFileError` for a token file others can
    read) without sending anything.
    """
    text = spec.strip()
    if not text:
        raise SourceSpecError(f"--from: empty; expected {_USAGE}")
    token = load_token(token_env=token_env, token_file=token_file, environ=environ)
    prefix, colon, rest = text.partition(":")
    opener = _OPENERS.get(prefix.lower()) if colon else None
    if opener is not None:
        return opener(_service_url(text, rest), token, retry, read_timeout)
    if "://" in text:
        scheme = text.partition("://")[0]
        hint = f" (psa:{text} or kubo:{text}?)" if scheme in ("http", "https") else ""
        raise SourceSpecError(f"--from {text}: unknown kind of source{hint}; expected {_USAGE}")
    if token is not None:
        raise SourceSpecError(
            "--from-token-env and --from-token-file are for psa: and kubo: sources only"
        )
    if text == STDIN:
        return CidListSource(STDIN)
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceSpecError(f"--from {text}: no such file; expected {_USAGE}")
    if path.is_dir():
        raise SourceSpecError(f"--from {text}: a directory, not a CID list; expected {_USAGE}")
    return CidListSource(path)
