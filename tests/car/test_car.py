"""bulkpin.car: what the writer frames, the reader reads back; what is malformed, it refuses."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkpin.car import (
    BlockMismatch,
    CarError,
    CarHeader,
    CarWriter,
    TruncatedCar,
    UnsupportedCar,
    car_header,
    encode_header,
    section_prefix,
)
from bulkpin.unixfs.node import DAG_PB, RAW, make_cid, varint
from tests.support.gateway import read_car


def _car(blocks: list[tuple[bytes, bytes]], roots: list[bytes] | None = None) -> bytes:
    out = bytearray()

    async def write(data: bytes) -> None:
        out.extend(data)

    async def build() -> None:
        writer = CarWriter(write)
        await writer.header(roots if roots is not None else [blocks[0][0]])
        for cid, block in blocks:
            await writer.block(cid, block)

    asyncio.run(build())
    return bytes(out)


def _blocks() -> list[tuple[bytes, bytes]]:
    return [(make_cid(1, RAW, b"leaf"), b"leaf"), (make_cid(0, DAG_PB, b"\x0a\x00"), b"\x0a\x00")]


def test_the_header_is_the_dag_cbor_of_the_spec() -> None:
    cid = make_cid(1, RAW, b"x")
    expected = (b"\xa2\x65roots\x81\xd8\x2a\x58\x25\x00" + cid + b"\x67version\x01")
    assert encode_header([cid]) == expected
    assert car_header([cid]) == varint(len(expected)) + expected


@given(st.lists(st.binary(max_size=3000), max_size=8), st.booleans())
def test_what_is_written_reads_back(blocks: list[bytes], v0: bool) -> None:
    pairs = [(make_cid(0, DAG_PB, b) if v0 else make_cid(1, RAW, b), b) for b in blocks]
    roots = [pairs[0][0]] if pairs else []
    header, read = read_car(_car(pairs, roots))
    assert header == CarHeader(1, tuple(roots))
    assert [(b.cid, b.data) for b in read] == pairs


def _boundaries(blocks: list[tuple[bytes, bytes]]) -> list[int]:
    """Where each section of ``_car(blocks)`` ends (the header's end first)."""
    at = [len(car_header([blocks[0][0]]))]
    for cid, block in blocks:
        at.append(at[-1] + len(section_prefix(cid, len(block))) + len(block))
    return at


def test_every_cut_inside_the_header_or_a_section_is_refused() -> None:
    data = _car(_blocks())
    ends = set(_boundaries(_blocks()))
    for cut in range(1, len(data)):
        if cut not in ends:
            with pytest.raises(TruncatedCar):
                read_car(data[:cut])


def test_a_cut_between_sections_is_a_shorter_car_not_an_error() -> None:
    data = _car(_blocks())
    _, blocks = read_car(data[: _boundaries(_blocks())[1]])
    assert [b.data for b in blocks] == [b"leaf"]


def test_a_changed_block_is_a_mismatch_naming_its_cid() -> None:
    cid = make_cid(1, RAW, b"leaf")
    data = _car([(cid, b"leaf")]).replace(b"leaf", b"lead")
    with pytest.raises(BlockMismatch) as caught:
        read_car(data)
    assert caught.value.cid == cid


@pytest.mark.parametrize("body", [
    b"",  # an empty stream: no header at all
    b"\x00",  # a header of zero bytes
    b"\x80\x00",  # a varint that is not minimal
    b"\xff" * 12,  # a varint too long
    varint(3) + b"\xa0\x00\x00",  # bytes after the header map
    varint(1) + b"\xa0",  # a map without a version
    varint(2) + b"\x81\x01",  # not a map
])
def test_a_malformed_header_is_refused(body: bytes) -> None:
    with pytest.raises(CarError):
        read_car(body)


def test_car_version_2_is_unsupported() -> None:
    header = b"\xa2\x65roots\x80\x67version\x02"
    with pytest.raises(UnsupportedCar):
        read_car(varint(len(header)) + header)


def test_a_section_too_large_or_a_cid_too_long_is_refused() -> None:
    start = car_header([])
    with pytest.raises(CarError, match="section of"):
        read_car(start + varint(64 * 1024 * 1024) + b"\x01")
    cid = make_cid(1, RAW, b"x")
    with pytest.raises(CarError, match="longer than its section"):
        read_car(start + varint(10) + cid)


def test_an_unknown_multihash_is_unsupported_not_trusted() -> None:
    digest = hashlib.blake2b(b"x", digest_size=32).digest()
    cid = b"\x01\x55\xa0\xe4\x02\x20" + digest  # blake2b-256
    with pytest.raises(UnsupportedCar):
        read_car(car_header([]) + section_prefix(cid, 1) + b"x")
