"""Access tokens remembered once verified: only their expiry is checked again."""

from __future__ import annotations

import pytest

from bulkpin.service.tokens import (
    TokenError,
    VerifiedTokens,
    issue_access_token,
    issue_api_key,
    verify_token,
)

SECRET = bytes(range(32))
OTHER = bytes(range(1, 33))


def test_a_remembered_token_still_expires() -> None:
    tokens = VerifiedTokens(SECRET)
    token = issue_access_token(SECRET, 7, "key", now=1000.0, ttl=60.0)
    assert tokens.verify(token, "access", 1000.0).account_id == 7
    assert tokens.verify(token, "access", 1059.0).key_id == "key"
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(token, "access", 1060.0)


def test_a_refused_token_is_refused_every_time() -> None:
    tokens = VerifiedTokens(SECRET)
    foreign = issue_access_token(OTHER, 7, "key", now=1000.0, ttl=60.0)
    for _ in range(2):
        with pytest.raises(TokenError, match="invalid"):
            tokens.verify(foreign, "access", 1000.0)


def test_a_token_passes_only_as_its_own_kind() -> None:
    tokens = VerifiedTokens(SECRET)
    api_key = issue_api_key(SECRET, 7, "key")
    assert tokens.verify(api_key, "api", 0.0).expires is None
    with pytest.raises(TokenError, match="wrong kind"):
        tokens.verify(api_key, "access", 0.0)


def test_the_oldest_are_forgotten_and_checked_afresh() -> None:
    tokens = VerifiedTokens(SECRET, size=2)
    issued = [issue_access_token(SECRET, n, "key", now=0.0, ttl=10.0) for n in range(3)]
    for token in issued:
        tokens.verify(token, "access", 1.0)
    assert len(tokens._known) == 2
    assert (issued[0], "access") not in tokens._known
    # Forgotten, so verified again: the answer is the same as the first time.
    assert tokens.verify(issued[0], "access", 2.0) == verify_token(SECRET, issued[0], "access", 2.0)
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(issued[0], "access", 10.0)
