"""The allocator settings every bulkpin process starts with."""

from __future__ import annotations

import platform

import pytest

from bulkpin._malloc import tune_malloc


def test_glibc_accepts_every_setting() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert tune_malloc() is True


def test_the_service_keeps_more_of_its_heap_than_a_client() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    from bulkpin._malloc import SERVICE_TRIM_THRESHOLD, TRIM_THRESHOLD  # noqa: PLC0415

    assert tune_malloc(SERVICE_TRIM_THRESHOLD) is True
    assert tune_malloc(TRIM_THRESHOLD) is True
