"""Where the client's Cloud URL, API key, private key and Endpoint come from.

Sources, highest precedence first, field by field:

1. arguments to :func:`load_credentials` (the CLI's options, ``--zone`` included);
2. a profile file named explicitly (``profile=``, the CLI's ``--profile``);
3. the environment: ``BULKPIN_CLOUD_URL``, ``BULKPIN_API_KEY``,
   ``BULKPIN_PRIVATE_KEY``, ``BULKPIN_ENDPOINT``;
4. the default profile file, :func:`default_profile_path`, if it exists.

A profile is TOML: ``cloud_url``, ``api_key``, ``private_key`` and optionally
``endpoint``. The private key may be the base64 PKCS#8 body Decoo hands out, a
PEM text, or the path of a PEM (or base64) file. A profile or key file that
group or others may read is refused, as ssh refuses such a key: the file holds
the account's credentials.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import platformdirs
from cryptography.hazmat.primitives.asymmetric import rsa

from ..signing import InvalidKeyError, load_private_key, sign_cid
from .errors import ConfigurationError, InsecureFileError
from .redact import Secret, register_secret

__all__ = [
    "ENV_API_KEY",
    "ENV_CLOUD_URL",
    "ENV_ENDPOINT",
    "ENV_PRIVATE_KEY",
    "ZONES",
    "Credentials",
    "default_profile_path",
    "load_credentials",
    "read_private_text",
    "read_profile",
    "zone_url",
]

#: Decoo's documented Cloud URLs by zone.
ZONES: Final[Mapping[str, str]] = {
    "global": "https://api.decoo.io",
    "cn": "https://api.decoo-cloud.cn",
    "beta": "https://beta.api.decoo.io",
}

ENV_CLOUD_URL: Final = "BULKPIN_CLOUD_URL"
ENV_API_KEY: Final = "BULKPIN_API_KEY"
ENV_PRIVATE_KEY: Final = "BULKPIN_PRIVATE_KEY"
ENV_ENDPOINT: Final = "BULKPIN_ENDPOINT"

_PROFILE_KEYS: Final = frozenset({"cloud_url", "api_key", "private_key", "endpoint", "zone"})
# A 1024-bit key's base64 PKCS#8 body is about 850 characters; anything much
# shorter that does not parse as a key was meant as a file name.
_SHORTEST_KEY_BODY: Final = 400


def default_profile_path() -> Path:
    """The profile read when none is named: ``<user config dir>/bulkpin/profile.toml``."""
    return platformdirs.user_config_path("bulkpin") / "profile.toml"


def resolve_profile(profile: str | os.PathLike[str]) -> Path:
    """A ``--profile`` value: a file path, or the name of a profile in the config directory.

    ``--profile work`` reads ``<user config dir>/bulkpin/profiles/work.toml`` when no
    file ``work`` exists here, as ``aws --profile`` and rclone remotes name theirs.
    """
    path = Path(profile).expanduser()
    text = os.fspath(profile)
    if path.exists() or "/" in text or text.endswith(".toml"):
        return path
    named = platformdirs.user_config_path("bulkpin") / "profiles" / f"{text}.toml"
    if named.exists():
        return named
    # Say both places looked in: "cannot read profile work" named neither.
    raise ConfigurationError(f"no profile {text!r}: neither a file {path} here nor {named}")


def zone_url(zone: str) -> str:
    """The Cloud URL of a Decoo zone (``global``, ``cn``, ``beta``)."""
    try:
        return ZONES[zone.strip().lower()]
    except KeyError:
        known = ", ".join(ZONES)
        raise ConfigurationError(f"unknown zone {zone!r} (known: {known})") from None


@dataclass(frozen=True, repr=False, eq=False)
class Credentials:
    """What the client needs to talk to one Decoo account.

    The repr names where each came from, never the values.
    """

    cloud_url: str
    api_key: Secret
    private_key: rsa.RSAPrivateKey
    #: A preferred Endpoint, by name or URL (None: the fastest listed one).
    endpoint: str | None = None
    #: Where these came from, for messages ("profile /x/profile.toml", "environment").
    source: str = "arguments"

    def sign(self, cid: str) -> str:
        """The ``secret`` for ``cid`` (see :func:`bulkpin.signing.sign_cid`)."""
        # Not registered with the redactor: a run signs a million CIDs, and
        # redact() recognises signatures by shape (long base64 runs) instead.
        return sign_cid(self.private_key, cid)

    @property
    def key_bits(self) -> int:
        """The private key's size, which fixes the length of every ``secret``."""
        return self.private_key.key_size

    def __repr__(self) -> str:
        return (
            f"Credentials(cloud_url={self.cloud_url!r}, api_key=<redacted>, "
            f"private_key=<redacted {self.key_bits}-bit RSA>, endpoint={self.endpoint!r}, "
            f"source={self.source!r})"
        )


def _check_private_file(
    path: Path, what: str, error: Callable[[str], Exception], holds: str
) -> None:
    """Refuse a file that group or others may read or write, or that is not a regular file."""
    if sys.platform == "win32":  # pragma: no cover - POSIX modes mean nothing there
        return
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        # Checked before opening: open() of a FIFO blocks until a writer comes,
        # and a process blocked there does not even see SIGTERM.
        raise error(f"{what} {path} is not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureFileError(
            f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"it holds {holds}, so make it private: chmod 600 {path}"
        )


def read_private_text(
    path: Path,
    what: str,
    *,
    error: Callable[[str], Exception] = ConfigurationError,
    holds: str = "your Decoo credentials",
) -> str:
    """The UTF-8 text of a file only its owner may read: a profile, a key, a source's token.

    ``what`` names the file in messages (``"profile"``, ``"token file"``). A
    file that cannot be read raises ``error``; one that group or others may
    read or write, :class:`~.errors.InsecureFileError` (it holds ``holds``).
    """
    _check_private_file(path, what, error, holds)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise error(f"cannot read {what} {path}: {reason}") from None


def read_profile(path: Path) -> dict[str, str]:
    """The fields of a profile file, checked for privacy and shape.

    Relative ``private_key`` paths are resolved against the profile's directory.
    """
    text = read_private_text(path, "profile")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message quotes no values, only a position.
        raise ConfigurationError(f"profile {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _PROFILE_KEYS)
    if unknown:
        raise ConfigurationError(f"profile {path}: unknown keys {', '.join(unknown)}")
    fields: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigurationError(f"profile {path}: {key} should be a string")
        fields[key] = value
    if "private_key" in fields and _looks_like_path(fields["private_key"]):
        key_path = Path(fields["private_key"]).expanduser()
        if not key_path.is_absolute():
            fields["private_key"] = str(path.parent / key_path)
    return fields


def _looks_like_path(value: str) -> bool:
    text = value.strip()
    return bool(text) and not text.startswith("-----BEGIN") and len(text) < _SHORTEST_KEY_BODY


def _load_key(value: str, origin: str) -> rsa.RSAPrivateKey:
    """A key given as a base64 body, a PEM text or a file path; errors never quote it."""
    text = value.strip()
    if not text:
        raise ConfigurationError(f"the private key from {origin} is empty")
    if _looks_like_path(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"the private key from {origin} is neither the base64 key body Decoo issues, "
                "a PEM text, nor the path of an existing file"
            )
        text = read_private_text(path, "private key file")
        origin = f"file {path}"
    register_secret(text.strip())
    try:
        return load_private_key(text)
    except InvalidKeyError as exc:
        raise ConfigurationError(f"private key from {origin}: {exc}") from None


def _normalise_url(url: str, what: str) -> str:
    text = url.strip().rstrip("/")
    if not text.startswith(("https://", "http://")):
        raise ConfigurationError(f"{what} must be an http:// or https:// URL, got {text!r}")
    return text


def load_credentials(
    *,
    profile: str | os.PathLike[str] | None = None,
    zone: str | None = None,
    cloud_url: str | None = None,
    api_key: str | None = None,
    private_key: str | None = None,
    endpoint: str | None = None,
    env: Mapping[str, str] | None = None,
    default_profile: Path | None = None,
) -> Credentials:
    """Assemble :class:`Credentials` from arguments, a profile and the environment.

    ``zone`` (``global``, ``cn``, ``beta``) stands for Decoo's Cloud URL, so a
    real Decoo user needs only ``api_key`` and ``private_key``. ``env`` defaults
    to ``os.environ`` and ``default_profile`` to :func:`default_profile_path`
    (tests pass their own). Raises :class:`ConfigurationError` naming what is
    missing and where it was looked for.
    """
    if zone is not None and cloud_url is not None:
        raise ConfigurationError("give a zone or a Cloud URL, not both")
    args = {
        "cloud_url": cloud_url if zone is None else zone_url(zone),
        "api_key": api_key,
        "private_key": private_key,
        "endpoint": endpoint,
    }
    layers: list[_Layer] = [("arguments", {k: v for k, v in args.items() if v is not None})]
    if profile is not None:
        path = resolve_profile(profile)
        layers.append((f"profile {path}", read_profile(path)))
    layers.append(("environment", _environment_fields(os.environ if env is None else env)))
    complete = all(
        any(values.get(f) for _, values in layers) for f in ("cloud_url", "api_key", "private_key")
    )
    # The default profile is read only when needed, so an unreadable one does not
    # stand in the way of credentials given entirely by arguments or environment.
    if profile is None and not complete:
        fallback = default_profile if default_profile is not None else default_profile_path()
        if fallback.is_file():
            layers.append((f"profile {fallback}", read_profile(fallback)))
    return _assemble(layers)


#: Where some fields came from ("arguments", "profile /x.toml"...), and those fields.
_Layer = tuple[str, Mapping[str, str]]


def _environment_fields(environ: Mapping[str, str]) -> dict[str, str]:
    return {
        field: environ[var]
        for field, var in (
            ("cloud_url", ENV_CLOUD_URL),
            ("api_key", ENV_API_KEY),
            ("private_key", ENV_PRIVATE_KEY),
            ("endpoint", ENV_ENDPOINT),
        )
        if environ.get(var)
    }


def _pick(layers: list[_Layer], field: str) -> tuple[str, str] | None:
    """The first layer's value for ``field``, and that layer's name."""
    for origin, values in layers:
        value = values.get(field)
        if value:
            return value, origin
        if field == "cloud_url" and values.get("zone"):
            return zone_url(values["zone"]), origin
    return None


def _assemble(layers: list[_Layer]) -> Credentials:
    """Credentials from the first layer that gives each field; names what is missing."""
    looked = ", ".join(origin for origin, _ in layers)
    found_url, found_key = _pick(layers, "cloud_url"), _pick(layers, "api_key")
    found_private = _pick(layers, "private_key")
    missing = [
        what
        for what, found in (
            ("a Cloud URL (--zone, cloud_url or BULKPIN_CLOUD_URL)", found_url),
            ("an API key (api_key or BULKPIN_API_KEY)", found_key),
            ("a private key (private_key or BULKPIN_PRIVATE_KEY)", found_private),
        )
        if found is None
    ]
    if missing:
        raise ConfigurationError(f"missing {' and '.join(missing)}; looked in: {looked}")
    assert found_url is not None
    assert found_key is not None
    assert found_private is not None
    url = _normalise_url(found_url[0], f"the Cloud URL from {found_url[1]}")
    key = found_key[0].strip()
    if not key:
        raise ConfigurationError(f"the API key from {found_key[1]} is empty")
    found_endpoint = _pick(layers, "endpoint")
    origins = sorted({found_url[1], found_key[1], found_private[1]})
    return Credentials(
        cloud_url=url,
        api_key=Secret(key),
        private_key=_load_key(*found_private),
        endpoint=found_endpoint[0].strip() if found_endpoint else None,
        source=" + ".join(origins),
    )
