"""Fixtures for the client's tests.

Network tests run against ``bulkpin serve`` through the shared fixtures in
``tests/conftest.py`` (``service``, ``service_factory``); nothing here fakes
the service or aiohttp.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import write_files


@pytest.fixture
def files(tmp_path: Path) -> Callable[..., list[Path]]:
    """Make test files under the test's temporary directory."""

    def make(count: int, size: int = 40_000, tag: str = "") -> list[Path]:
        return write_files(tmp_path / "files", count, size, tag)

    return make
