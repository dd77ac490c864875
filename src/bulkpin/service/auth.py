"""Who is asking: the API key on the Cloud, the access token on the Endpoints.

The Cloud and the Endpoints run in one process over one database, so an
Endpoint checks an access token directly (signature, expiry, account) where
production Decoo would ask the Cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..signing import verify_secret
from .db import AsyncDatabase, Database
from .errors import Unauthorized
from .tokens import TokenError, TokenType, VerifiedTokens, issue_access_token

#: Header carrying access tokens to the Endpoints.
ACCESS_TOKEN_HEADER = "UserAccessToken"  # noqa: S105 - a header name


@dataclass(frozen=True)
class Account:
    """An authenticated caller."""

    id: int
    name: str
    key_id: str
    public_key: rsa.RSAPublicKey

    def verify(self, cid: str, secret: str) -> bool:
        """Whether ``secret`` is this account's signature of ``cid``."""
        return len(secret) <= 4096 and verify_secret(self.public_key, cid, secret)


class Authenticator:
    """Checks keys and tokens against the database; ``clock`` is wall-clock seconds."""

    def __init__(
        self, db: AsyncDatabase, secret: bytes, token_ttl: float, clock: Callable[[], float]
    ) -> None:
        self._db = db
        self._secret = secret
        self._tokens = VerifiedTokens(secret)
        self._ttl = token_ttl
        self._clock = clock
        # Accounts never change once created; keys are loaded once.
        self._accounts: dict[int, Account] = {}

    async def _account(self, token: str, kind: TokenType) -> Account:
        try:
            claims = self._tokens.verify(token, kind, self._clock())
        except TokenError as exc:
            raise Unauthorized(
                "Token expired" if "expired" in str(exc) else "Invalid token"
            ) from exc
        account = self._accounts.get(claims.account_id)
        if account is None:
            row = await self._db.run(Database.account_by_id, claims.account_id)
            if row is None:
                raise Unauthorized("Invalid token")
            key = serialization.load_der_public_key(row.public_key)
            assert isinstance(key, rsa.RSAPublicKey)
            account = Account(row.id, row.name, row.key_id, key)
            self._accounts[row.id] = account
        if account.key_id != claims.key_id:
            raise Unauthorized("Invalid token")
        return account

    async def cloud_account(self, request: web.Request) -> Account:
        """The account whose API key is in ``Authorization: Bearer``."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Invalid token")
        return await self._account(token.strip(), "api")

    async def endpoint_account(self, request: web.Request) -> Account:
        """The account whose access token is in the ``UserAccessToken`` header."""
        token = request.headers.get(ACCESS_TOKEN_HEADER, "").strip()
        if not token:
            raise Unauthorized("Invalid token")
        return await self._account(token, "access")

    def access_token(self, account: Account) -> str:
        """A new access token for ``account``."""
        return issue_access_token(
            self._secret, account.id, account.key_id, self._clock(), self._ttl
        )
