"""The boundary search of the multipart reader: C library's memmem against bytes.find."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkpin.service import form
from tests.unixfs.content import content

DELIMITER = b"\r\n--------------------------8a3bd8e1f0c2a7d4"


@settings(max_examples=200, deadline=None)
@given(
    size=st.sampled_from([0, 10, form._MEMMEM_FROM - 1, form._MEMMEM_FROM, 70_000, 1 << 20]),
    places=st.lists(st.floats(min_value=0, max_value=1), max_size=3),
    partial=st.integers(min_value=1, max_value=len(DELIMITER) - 1),
)
def test_find_agrees_with_bytes_find(size: int, places: list[float], partial: int) -> None:
    data = bytearray(content("search", size))
    for place in places:  # whole delimiters, possibly overlapping the end
        at = int(place * size)
        data[at : at + len(DELIMITER)] = DELIMITER
    if size > partial:  # a delimiter cut short at the very end is not a match
        data[-partial:] = DELIMITER[:partial]
    haystack = bytes(data)
    assert form._find(haystack, DELIMITER) == haystack.find(DELIMITER)


def test_memmem_is_used_where_the_c_library_has_it() -> None:
    if form._libc_find() is None:
        pytest.skip("this C library has no memmem")
    assert form._find is not bytes.find
