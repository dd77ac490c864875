"""CID text forms: our fast codec against the multiformats reference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID

from bulkpin.unixfs.node import DAG_PB, RAW, cid_from_digest, cid_from_str, cid_to_str


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
