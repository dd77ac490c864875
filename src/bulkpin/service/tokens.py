"""API keys and access tokens: JWTs (HS256) signed with the data dir's secret.

The API key never expires (like Decoo's); it names its account and a key id
that must match the account's, so a key minted by another data dir, or for an
account that does not exist, is refused. Access tokens carry an ``exp``
checked against the service's clock, so tests can make them expire quickly.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jwt

ISSUER = "bulkpin-local"
_ALGORITHM = "HS256"
TokenType = Literal["api", "access"]


class TokenError(ValueError):
    """A token that is malformed, foreign, of the wrong type or expired."""


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says."""

    account_id: int
    key_id: str
    expires: float | None


def load_or_create_secret(path: Path) -> bytes:
    """The signing secret, created (0600) on first use; safe against a racing process."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes().strip()
        if len(data) < 64:
            raise TokenError(f"{path} is not a signing secret; remove it to start afresh") from None
        return bytes.fromhex(data.decode("ascii"))
    secret = secrets.token_bytes(32)
    try:
        os.write(fd, secret.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return secret


def issue_api_key(secret: bytes, account_id: int, key_id: str) -> str:
    """The account's API key: deterministic, so rewriting a profile keeps it."""
    claims = {"iss": ISSUER, "typ": "api", "sub": str(account_id), "jti": key_id}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def issue_access_token(
    secret: bytes, account_id: int, key_id: str, now: float, ttl: float
) -> str:
    """A short-lived token for the Endpoints."""
    claims = {
        "iss": ISSUER, "typ": "access", "sub": str(account_id), "kid": key_id,
        "jti": secrets.token_hex(8), "iat": int(now), "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(secret: bytes, token: str, kind: TokenType, now: float) -> TokenClaims:
    """Check signature, issuer, type and (access tokens) expiry."""
    if not token or len(token) > 4096:
        raise TokenError("malformed token")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=ISSUER,
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "typ"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError("invalid token") from exc
    if claims.get("typ") != kind:
        raise TokenError("wrong kind of token")
    try:
        account_id = int(claims["sub"])
        key_id = str(claims["jti"] if kind == "api" else claims["kid"])
        expires = float(claims["exp"]) if kind == "access" else None
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("invalid token") from exc
    checked = TokenClaims(account_id, key_id, expires)
    _check_expiry(checked, now)
    return checked


def _check_expiry(claims: TokenClaims, now: float) -> None:
    if claims.expires is not None and now >= claims.expires:
        raise TokenError("token expired")


class VerifiedTokens:
    """:func:`verify_token`, remembering the tokens that passed.

    A bulk client sends the same access token with thousands of uploads, and
    checking its signature and claims again each time was a tenth of the
    service's Python time on small uploads. What a token says cannot change,
    so only its expiry is checked again. Refused tokens are not remembered;
    the oldest remembered one goes once ``size`` are held.
    """

    def __init__(self, secret: bytes, size: int = 1024) -> None:
        self._secret = secret
        self._size = size
        self._known: dict[tuple[str, TokenType], TokenClaims] = {}

    def verify(self, token: str, kind: TokenType, now: float) -> TokenClaims:
        """The token's claims (TokenError if it is refused)."""
        claims = self._known.get((token, kind))
        if claims is None:
            claims = verify_token(self._secret, token, kind, now)
            if len(self._known) >= self._size:
                del self._known[next(iter(self._known))]
            self._known[token, kind] = claims
        else:
            _check_expiry(claims, now)
        return claims
