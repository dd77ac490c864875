"""The Decoo ``secret``: an RSA PKCS#1 v1.5 signature of the CID string, no digest.

``secret = base64(RSA private-key "encryption", block type 1, of utf8(cid))``, which
is what Java's ``Cipher.getInstance("RSA")`` with a private key and Node's
``crypto.privateEncrypt`` produce, and what Decoo checks. Both the client (which
signs) and the local service (which verifies) use this module.

Keys arrive as Decoo hands them out, the base64 body of a PKCS#8 DER without PEM
armour, or as a PEM file's text.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo

#: Decoo issues 1024-bit keys; accept up to 4096.
MIN_KEY_BITS = 1024
MAX_KEY_BITS = 4096


class InvalidKeyError(ValueError):
    """A private key that cannot be read or is not a usable RSA key."""


def generate_private_key(bits: int = MIN_KEY_BITS) -> rsa.RSAPrivateKey:
    """A new RSA key of the size Decoo issues."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_to_body(key: rsa.RSAPrivateKey) -> str:
    """The base64 PKCS#8 DER body, the form Decoo gives its users."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode("ascii")


def load_private_key(text: str | bytes) -> rsa.RSAPrivateKey:
    """Read a key given as a PEM text or as a bare base64 PKCS#8 body.

    The error never quotes the key material.
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    raw = raw.strip()
    try:
        if raw.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(raw, password=None)
        else:
            der = base64.b64decode(b"".join(raw.split()), validate=True)
            key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidKeyError(
            "the private key is neither a PEM file nor the base64 PKCS#8 body Decoo issues"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidKeyError("the private key is not an RSA key")
    if not MIN_KEY_BITS <= key.key_size <= MAX_KEY_BITS:
        raise InvalidKeyError(
            f"RSA key of {key.key_size} bits; Decoo keys have {MIN_KEY_BITS}-{MAX_KEY_BITS}"
        )
    return key


def sign_cid(key: rsa.RSAPrivateKey, cid: str) -> str:
    """The ``secret`` field for ``cid``: deterministic for a key and CID."""
    signature = key.sign(cid.encode("utf-8"), padding.PKCS1v15(), NoDigestInfo())
    return base64.b64encode(signature).decode("ascii")


def verify_secret(public_key: rsa.RSAPublicKey, cid: str, secret: str) -> bool:
    """Whether ``secret`` is the signature of ``cid`` by the matching private key."""
    try:
        signature = base64.b64decode(secret, validate=True)
        recovered = public_key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except (ValueError, TypeError, binascii.Error, InvalidSignature):
        return False
    return recovered == cid.encode("utf-8")
