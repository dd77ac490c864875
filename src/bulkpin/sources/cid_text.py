"""Validating and normalising a CID given as text, with bulkpin's own codec.

Accepted: CIDv0 (``Qm…``) and CIDv1 in any multibase that
:func:`bulkpin.unixfs.node.cid_from_str` decodes (base32 ``b…``/``B…``,
base58btc ``z…``, base36 ``k…``, base16 ``f…`` and the others ``multiformats``
knows), optionally written as an IPFS path or URL: ``/ipfs/<cid>``,
``ipfs://<cid>`` (a trailing ``/`` is allowed). Every CID is decoded, so a
typo is caught here and not by the service.

Refused, with a reason: a path *inside* a CID (``/ipfs/<cid>/a.txt``: pinning
the root would pin more than was named), IPNS names (``/ipns/…``, and
``libp2p-key`` CIDs, which name a key rather than content), and anything that
does not decode.

The result is the form Decoo and kubo print: CIDv0 stays base58btc ``Qm…``
(it is never upgraded to v1, which would be another string for the account),
CIDv1 becomes base32 lower case.
"""

from __future__ import annotations

from typing import Final

from ..unixfs.node import cid_from_str, cid_to_str

__all__ = ["InvalidCid", "normalise_cid", "parse_cid"]

#: multicodec ``libp2p-key``: the CID of a public key, which IPNS names use.
_LIBP2P_KEY: Final = 0x72
#: Quoted text is cut to this length in reasons.
_QUOTE_CHARS: Final = 80


class InvalidCid(ValueError):
    """Text that is not a CID that can be pinned; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _strip_prefix(text: str) -> str:
    lowered = text.lower()
    if lowered.startswith(("/ipns/", "ipns://")):
        raise InvalidCid("an IPNS name, not a CID: resolve it and pin the CID")
    for prefix in ("ipfs://", "/ipfs/"):
        if lowered.startswith(prefix):
            text = text[len(prefix):]
            cid, slash, rest = text.partition("/")
            if rest.strip("/") or "?" in text or "#" in text:
                raise InvalidCid(
                    "a path inside a CID: pin the CID of what it names, not its root"
                )
            return cid if slash else text
    return text


def parse_cid(text: str) -> bytes:
    """The binary CID in ``text`` (see the module docstring); :class:`InvalidCid` if none."""
    candidate = _strip_prefix(text.strip())
    if not candidate:
        raise InvalidCid("empty CID")
    try:
        raw = cid_from_str(candidate)
    except ValueError:
        raise InvalidCid(f"not a CID: {candidate[:_QUOTE_CHARS]!r}") from None
    # A CIDv1's codec follows its version byte; every codec below 0x80 is one byte.
    if raw[:1] == b"\x01" and len(raw) > 1 and raw[1] == _LIBP2P_KEY:
        raise InvalidCid("a libp2p-key CID names an IPNS key, not content")
    return raw


def normalise_cid(text: str) -> str:
    """``text`` as the CID string Decoo and kubo print; :class:`InvalidCid` if it is none."""
    return cid_to_str(parse_cid(text))
