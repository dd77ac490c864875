"""The allocator settings every bulkpin process starts with."""

from __future__ import annotations

import platform

import pytest

from bulkpin._malloc import tune_malloc


def test_glibc_accepts_every_setting() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert tune_malloc() is True
