"""The allocator settings every bulkpin process starts with."""

from __future__ import annotations

import platform

import pytest

from bulkpin._malloc import SERVICE_TRIM_THRESHOLD, TRIM_THRESHOLD, tune_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
@pytest.mark.parametrize("trim", [TRIM_THRESHOLD, SERVICE_TRIM_THRESHOLD],
                         ids=["client", "service"])
def test_glibc_accepts_every_setting(trim: int) -> None:
    assert tune_malloc(trim) is True
