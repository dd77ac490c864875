"""CIDs for the sources' tests, made with bulkpin's own codec."""

from __future__ import annotations

from bulkpin.unixfs.node import DAG_PB, RAW, cid_to_str, make_cid, varint


def v1(tag: str) -> str:
    """A CIDv1 (raw, sha2-256) in base32, distinct per ``tag``."""
    return cid_to_str(make_cid(1, RAW, tag.encode()))


def v0(tag: str) -> str:
    """A CIDv0 (``Qm…``), distinct per ``tag``."""
    return cid_to_str(make_cid(0, DAG_PB, tag.encode()))


def inline(tag: str) -> str:
    """An identity-hash CIDv1 of raw bytes: ``bulkpin serve`` pins it at once."""
    data = tag.encode()
    return cid_to_str(b"\x01" + varint(RAW) + b"\x00" + varint(len(data)) + data)
