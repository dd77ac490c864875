"""Keeping the API key, access tokens, the private key and secrets out of every output.

The rule is *never print a secret*, enforced in three layers:

1. Secrets travel wrapped in :class:`Secret`, whose ``str`` and ``repr`` are a
   placeholder; the raw value is taken out with :meth:`Secret.reveal` only where a
   request header or body is built.
2. Every message this package builds from text it did not write (a service's error
   message, an aiohttp error's text, which may quote request headers) goes through
   :func:`redact`, which removes the registered secret values and anything shaped
   like a credential header or a JWT.
3. :class:`RedactingFilter` applies the same scrubbing to log records, for
   applications that route third-party loggers through the same handlers.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
import weakref
from typing import Final

#: What a secret looks like in any output.
PLACEHOLDER: Final = "<redacted>"

# Values shorter than this are not registered: replacing every "a" in a message
# because some test used "a" as an API key would make messages unreadable.
_MIN_SECRET_LENGTH = 8

_PATTERNS: Final = (
    # Credential headers, as aiohttp's RequestInfo and CIMultiDict reprs print them:
    # "'Authorization': 'Bearer x'", "Authorization: Bearer x", "UserAccessToken=x".
    re.compile(
        r"(?i)((?:authorization|useraccesstoken|api[-_]?key|access[-_]?token|secret)"
        r"['\"]?\s*[:=]\s*['\"]?)(?:bearer\s+)?[^\s'\",}]+"
    ),
    # JSON Web Tokens (the API key is one; access tokens may be).
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    # Long base64 runs: signatures (a ``secret`` is 172 characters for a 1024-bit
    # key) and private-key bodies. CIDs (46 or 59 characters) are shorter.
    re.compile(r"[A-Za-z0-9+/]{100,}={0,2}"),
    # PEM blocks.
    re.compile(r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)", re.DOTALL),
)


class Secret:
    """A string that never shows itself in ``str``, ``repr`` or f-strings."""

    __slots__ = ("__weakref__", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        _registry.add(value)
        # The registry forgets the value once no Secret holds it any more.
        weakref.finalize(self, _registry.discard, value)

    def reveal(self) -> str:
        """The raw value, for building a request and nothing else."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({PLACEHOLDER!r})"

    def __str__(self) -> str:
        return PLACEHOLDER

    def __format__(self, spec: str) -> str:
        return PLACEHOLDER

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> str:
        # Pickling would write the value somewhere we do not control.
        raise TypeError("a Secret cannot be pickled")


class _Registry:
    """Secret values seen by this process, so :func:`redact` can scrub them.

    Values are kept only as long as some :class:`Secret` holding them lives
    (access tokens come and go every couple of hours).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}
        self._pattern: re.Pattern[str] | None = None
        # Finalizers run inside garbage collection, which can start anywhere,
        # including inside this class with the lock held: they only queue the
        # value (deque.append is atomic) and the next caller applies it.
        self._dropped: collections.deque[str] = collections.deque()

    def add(self, value: str) -> None:
        if len(value) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._apply_dropped()
            self._values[value] = self._values.get(value, 0) + 1
            self._pattern = None

    def discard(self, value: str) -> None:
        if len(value) >= _MIN_SECRET_LENGTH:
            self._dropped.append(value)

    def _apply_dropped(self) -> None:
        while self._dropped:
            value = self._dropped.popleft()
            count = self._values.get(value, 0) - 1
            if count > 0:
                self._values[value] = count
            elif value in self._values:
                del self._values[value]
                self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            self._apply_dropped()
            if self._pattern is None and self._values:
                # Longest first, so a value containing another is removed whole.
                alternatives = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))
            return self._pattern


_registry = _Registry()


def register_secret(value: str) -> None:
    """Scrub ``value`` from everything :func:`redact` sees from now on.

    :class:`Secret` registers itself; call this for values that must stay plain
    strings (a private key's base64 body while it is parsed, a ``secret`` field).
    Registered plain strings stay registered for the life of the process.
    """
    _registry.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret and credential-shaped string replaced."""
    pattern = _registry.pattern()
    if pattern is not None:
        text = pattern.sub(PLACEHOLDER, text)
    for regex in _PATTERNS:
        if regex.groups:
            text = regex.sub(lambda m: m.group(1) + PLACEHOLDER, text)
        else:
            text = regex.sub(PLACEHOLDER, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's message and arguments.

    Install it on a handler (``handler.addFilter(RedactingFilter())``) to scrub
    records from any logger, including aiohttp's and asyncio's. bulkpin's own log
    calls never pass a secret in the first place.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
