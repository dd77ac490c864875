"""A local service's account as a test or benchmark drives it by hand: keys and a token.

For code that speaks HTTP to ``bulkpin serve`` itself (curl, raw requests)
rather than through :class:`~bulkpin.client.DecooClient`, which does all this
on its own.
"""

from __future__ import annotations

import json
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import rsa

from ..signing import load_private_key, sign_cid

__all__ = ["Account", "access_token"]


@dataclass
class Account:
    """A profile's credentials, as ``bulkpin serve`` writes them."""

    cloud_url: str
    api_key: str
    key: rsa.RSAPrivateKey

    @classmethod
    def load(cls, path: Path) -> Account:
        """The account of the profile at ``path``."""
        data = tomllib.loads(path.read_text())
        return cls(data["cloud_url"], data["api_key"], load_private_key(data["private_key"]))

    def sign(self, cid: str) -> str:
        """The ``secret`` of an upload of ``cid``."""
        return sign_cid(self.key, cid)

    def cloud_headers(self) -> dict[str, str]:
        """The headers that authenticate a Cloud request."""
        return {"Authorization": f"Bearer {self.api_key}"}


class _Cloud(Protocol):
    """Anything that knows a running service's Cloud URL (a ServeProcess)."""

    @property
    def cloud_url(self) -> str: ...


def access_token(service: _Cloud, account: Account) -> str:
    """A fresh access token for ``account`` from ``service``'s Cloud (for Endpoint calls)."""
    request = urllib.request.Request(  # noqa: S310 - a loopback service's URL
        service.cloud_url + "/oauth/accessToken", headers=account.cloud_headers()
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - as above
        token = json.load(response)["Data"]
    if not isinstance(token, str):
        raise TypeError(f"the Cloud answered an access token of type {type(token).__name__}")
    return token
