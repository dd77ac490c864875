"""The access-token cache: bought with the API key, shared, renewed before it expires.

Decoo's access tokens last two hours and the official SDK renews after 100
minutes (:data:`DEFAULT_RENEW_AFTER`). The cache renews earlier when it learns
the tokens are shorter-lived:

- from the token itself, when it is a JWT whose ``exp - iat`` gives its lifetime
  (only the difference is used, so clock skew between client and service does
  not matter);
- from a 401: a token refused after ``age`` seconds shows the lifetime is at
  most ``age``, and later tokens are renewed before that.

Concurrent callers share one renewal: the first starts it, the others wait for
its result, success or failure (a failing Cloud sees one request, not one per
waiting upload).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import anyio

from .redact import Secret

__all__ = ["DEFAULT_RENEW_AFTER", "AccessToken", "TokenCache"]

log = logging.getLogger(__name__)

#: Renew a token this many seconds after it was bought (the SDK's 100 minutes).
DEFAULT_RENEW_AFTER: Final = 100 * 60.0
#: Of a token's known lifetime, the fraction used before renewing (100/120, as the SDK).
_USE_FRACTION: Final = 5 / 6
#: Never renew more often than this, whatever a 401 suggests.
MIN_RENEW_AFTER: Final = 1.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    """One access token and when the cache will replace it (clock seconds)."""

    value: Secret
    obtained_at: float
    renew_at: float

    def __repr__(self) -> str:
        return (
            f"AccessToken(<redacted>, obtained_at={self.obtained_at:.1f}, "
            f"renew_at={self.renew_at:.1f})"
        )


def _jwt_lifetime(token: str) -> float | None:
    """``exp - iat`` of a JWT, unverified (we only want the hint), or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        lifetime = float(claims["exp"]) - float(claims["iat"])
    except (ValueError, KeyError, TypeError):
        return None
    return lifetime if lifetime > 0 else None


class _Renewal:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: Exception | None = None


class TokenCache:
    """Hands out a valid access token, buying a new one when needed.

    ``fetch`` buys a token (with its own retries); ``clock`` is a monotonic
    clock in seconds, injected for tests.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[str]],
        *,
        clock: Callable[[], float] = time.monotonic,
        renew_after: float = DEFAULT_RENEW_AFTER,
    ) -> None:
        if renew_after <= 0:
            raise ValueError("renew_after must be positive")
        self._fetch = fetch
        self._clock = clock
        self._renew_after = renew_after
        self._token: AccessToken | None = None
        self._renewal: _Renewal | None = None
        #: Tokens bought so far (for tests and statistics).
        self.renewals = 0

    @property
    def renew_after(self) -> float:
        """Seconds after purchase at which tokens are currently renewed."""
        return self._renew_after

    async def get(self) -> AccessToken:
        """A token that is not due for renewal; buys one if needed."""
        while True:
            token = self._token
            if token is not None and self._clock() < token.renew_at:
                return token
            renewal = self._renewal
            if renewal is None:
                return await self._renew()
            await renewal.done.wait()
            if renewal.error is not None:
                raise renewal.error
            # Renewed (the loop returns it) or the renewing task was cancelled
            # (the loop makes this task the next one to try).

    async def _renew(self) -> AccessToken:
        renewal = self._renewal = _Renewal()
        try:
            value = await self._fetch()
        except Exception as exc:
            renewal.error = exc
            raise
        finally:
            self._renewal = None
            renewal.done.set()
        now = self._clock()
        lifetime = _jwt_lifetime(value)
        if lifetime is not None:
            self._learn(lifetime * _USE_FRACTION, "the token's own lifetime")
        self._token = AccessToken(Secret(value), now, now + self._renew_after)
        self.renewals += 1
        log.debug(
            "bought access token #%d; renewing it in %.0f s", self.renewals, self._renew_after
        )
        return self._token

    def _learn(self, renew_after: float, why: str) -> None:
        renew_after = max(MIN_RENEW_AFTER, renew_after)
        if renew_after < self._renew_after:
            log.debug("renewing access tokens after %.1f s (from %s)", renew_after, why)
            self._renew_after = renew_after

    def invalidate(self, token: AccessToken) -> None:
        """``token`` was refused (401): forget it, and learn from its age.

        Only the current token is dropped, so many requests failing with the same
        token cause one renewal, not one each.
        """
        if self._token is not token:
            return
        self._token = None
        age = self._clock() - token.obtained_at
        if age < self._renew_after:
            self._learn(age * _USE_FRACTION, f"a 401 after {age:.1f} s")
