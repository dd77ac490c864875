"""CID text forms: our fast codec against the multiformats reference."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID

from bulkpin.unixfs.node import DAG_PB, RAW, cid_from_digest, cid_from_str, cid_to_str, varint


@given(digest=st.binary(min_size=32, max_size=32), version=st.sampled_from([0, 1]),
       raw=st.booleans())
def test_text_form_matches_multiformats(digest: bytes, version: int, raw: bool) -> None:
    codec = RAW if raw and version == 1 else DAG_PB
    cid = cid_from_digest(version, codec, digest)
    reference = CID.decode(cid)
    expected = str(reference) if version == 0 else str(reference.encode("base32"))
    assert cid_to_str(cid) == expected
    assert cid_from_str(expected) == cid


def test_other_multibases_and_garbage() -> None:
    cid = cid_from_digest(1, RAW, bytes(range(32)))
    base58 = str(CID.decode(cid).encode("base58btc"))
    assert cid_from_str(base58) == cid
    for bad in ("", "Qm" + "0" * 44, "not a cid", "b!!!!"):
        with pytest.raises(ValueError, match="not a CID"):
            cid_from_str(bad)


def _cid_like(version: int, codec: int, code: int, length: int, digest: bytes) -> bytes:
    return varint(version) + varint(codec) + varint(code) + varint(length) + digest


_CID_LIKE = st.builds(
    _cid_like,
    st.sampled_from([0, 1, 1, 2]), st.sampled_from([RAW, DAG_PB, 0x71, 0x300000]),
    st.sampled_from([0x12, 0x13, 0x00, 0x1B]), st.integers(0, 40), st.binary(max_size=40),
)


@given(raw=st.one_of(st.binary(max_size=48), _CID_LIKE))
def test_base32_strings_are_cids_exactly_when_multiformats_says_so(raw: bytes) -> None:
    # The fast base32 path must refuse what is not a whole CIDv1, as the
    # general decoder does: the service answers 400 to those.
    text = "b" + base64.b32encode(raw).decode().rstrip("=").lower()
    try:
        expected: bytes | None = bytes(CID.decode(text))
    except Exception:  # multiformats raises several unrelated types
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="not a CID"):
            cid_from_str(text)
    else:
        assert cid_from_str(text) == expected
