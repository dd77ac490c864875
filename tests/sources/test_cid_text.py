"""Validating and normalising CID text."""

from __future__ import annotations

import base64

import pytest
from multiformats import CID

from bulkpin.sources import InvalidCid, normalise_cid
from bulkpin.unixfs.node import cid_from_str

from .cids import v0, v1

V0 = v0("a")
V1 = v1("a")


def _multibase(cid: str, base: str) -> str:
    return str(CID.decode(cid).encode(base))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (V0, V0),
        (f"  {V0}\t", V0),
        (V1, V1),
        (V1.upper(), V1),  # base32upper, multibase prefix "B"
        (_multibase(V1, "base58btc"), V1),
        (_multibase(V1, "base36"), V1),
        (_multibase(V1, "base16"), V1),
        (f"/ipfs/{V0}", V0),
        (f"/ipfs/{V0}/", V0),
        (f"ipfs://{V1}", V1),
        (f"IPFS://{V1}/", V1),
    ],
)
def test_accepted_forms_normalise_to_what_kubo_prints(text: str, expected: str) -> None:
    assert normalise_cid(text) == expected
    # And the result decodes to the same CID (not merely the same-looking text).
    assert cid_from_str(normalise_cid(text)) == cid_from_str(expected)


def test_v0_is_not_upgraded_and_v1_is_not_downgraded() -> None:
    assert normalise_cid(V0).startswith("Qm")
    dag_pb_v1 = str(CID.decode(V0).set(version=1).encode("base32"))
    assert normalise_cid(dag_pb_v1) == dag_pb_v1
    assert normalise_cid(dag_pb_v1).startswith("bafy")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("hello", "not a CID"),
        (V0[:-1], "not a CID"),
        ("b" + base64.b32encode(b"\x01\x55\x12\x20" + b"\x00" * 31).decode().lower(), "not a CID"),
        (f"/ipfs/{V0}/photo.jpg", "path inside"),
        (f"ipfs://{V0}/dir/", "path inside"),
        (f"/ipfs/{V0}?filename=x", "path inside"),
        ("/ipns/example.org", "IPNS"),
        ("k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8", "libp2p-key"),
    ],
)
def test_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidCid) as caught:
        normalise_cid(text)
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)
