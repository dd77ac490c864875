"""Accounts and their client profiles.

An account is an RSA key pair (the public half verifies ``secret`` fields) and
an API key. Its profile, ``profile.toml`` for the first account and
``profile-NAME.toml`` for others, holds what a Decoo user is handed:
``cloud_url``, ``api_key`` and ``private_key`` (the base64 PKCS#8 body). The
private key is also kept in the database, so profiles can be rewritten with
the current ``cloud_url`` on every start: this is a local test double, not a
custodian of anyone's keys.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives import serialization

from ..signing import generate_private_key, private_key_to_body
from .db import AccountRow, Database
from .tokens import issue_api_key

#: The account created on first start; its profile is ``profile.toml``.
DEFAULT_ACCOUNT = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_account_name(name: str) -> str:
    """``name`` if it can name an account (and a profile file); ValueError otherwise."""
    if not _NAME.match(name) or name == DEFAULT_ACCOUNT:
        raise ValueError(
            f"account name {name!r}: use 1-64 letters, digits, '.', '_' or '-' "
            f"(and not {DEFAULT_ACCOUNT!r})"
        )
    return name


def profile_path(data_dir: Path, name: str) -> Path:
    """Where the profile of account ``name`` is written."""
    return data_dir / ("profile.toml" if name == DEFAULT_ACCOUNT else f"profile-{name}.toml")


def write_profile(path: Path, cloud_url: str, api_key: str, private_key: str) -> None:
    """Write a profile atomically, readable by its owner only."""
    body = tomli_w.dumps({"cloud_url": cloud_url, "api_key": api_key, "private_key": private_key})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, body.encode())
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_account(db: Database, name: str) -> AccountRow:
    """The account called ``name``, created with a new 1024-bit key if missing."""
    existing = db.account_by_name(name)
    if existing is not None:
        return existing
    key = generate_private_key()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return db.add_account(
        name, secrets.token_hex(16), public, private_key_to_body(key), int(time.time() * 1000)
    )


def write_account_profile(
    data_dir: Path, secret: bytes, account: AccountRow, cloud_url: str
) -> Path:
    """(Re)write ``account``'s profile pointing at ``cloud_url``; returns its path."""
    path = profile_path(data_dir, account.name)
    write_profile(path, cloud_url, issue_api_key(secret, account.id, account.key_id),
                  account.private_key)
    return path
