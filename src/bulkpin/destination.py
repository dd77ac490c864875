"""Which account a run talks to: the identity a journal is bound to.

The account is the truth and the journal only a cache of it, so a journal is
only good for the one destination it learnt from. A destination is the Cloud
(its normalised URL; for the embedded local service, the service's own name,
because its port changes at every start) and the account: a digest of the API
key's issuer and subject (a JWT's ``iss`` and ``sub``), or of the whole key if
it is not a JWT. Neither key is ever stored or shown; a rotated API key for the
same account keeps the same destination. The private key plays no part: a
wrong one is refused by the service (403) and must not make the journal
someone else's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from .client import Credentials

__all__ = ["EMBEDDED_CLOUD", "Destination"]

#: The Cloud name of the embedded local service, whatever port it listens on.
EMBEDDED_CLOUD = "bulkpin-embedded"


def _normal_url(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{host}{port}{path}"


def _key_subject(api_key: str) -> str:
    """``iss`` and ``sub`` of a JWT API key (not verified: it only names), or ''."""
    pieces = api_key.split(".")
    if len(pieces) != 3:
        return ""
    payload = pieces[1] + "=" * (-len(pieces[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return ""
    if not isinstance(claims, dict) or "sub" not in claims:
        return ""
    return f"jwt\0{claims.get('iss', '')}\0{claims['sub']}"


@dataclass(frozen=True, slots=True)
class Destination:
    """A Cloud and an account on it."""

    cloud: str
    #: 16 hex digits naming the account; safe to show and to store.
    account: str

    @classmethod
    def of(cls, credentials: Credentials) -> Destination:
        """The destination ``credentials`` reach."""
        api_key = credentials.api_key.reveal()
        subject = _key_subject(api_key) or f"key\0{api_key}"
        # Imported here: target starts the embedded service, which this module
        # (used by the library, not only the CLI) does not need at import.
        from .target import EMBEDDED_SOURCE  # noqa: PLC0415

        embedded = credentials.source == EMBEDDED_SOURCE
        digest = hashlib.sha256(subject.encode())
        cloud = EMBEDDED_CLOUD if embedded else _normal_url(credentials.cloud_url)
        return cls(cloud, digest.hexdigest()[:16])

    @property
    def key(self) -> str:
        """A short stable name for file names (journal directories)."""
        return hashlib.sha256(f"{self.cloud}\0{self.account}".encode()).hexdigest()[:12]

    def __str__(self) -> str:
        return f"{self.cloud} (account {self.account})"

    @staticmethod
    def label_is_embedded(label: str) -> bool:
        """Whether a stored label (``str()`` of a destination) names the embedded service."""
        return label.partition(" ")[0] == EMBEDDED_CLOUD
