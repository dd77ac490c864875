"""Fixtures for ``bulkpin pin``: a source S with pushed pins, a destination D fetching from S."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_JOB_DELAY
from tests.support.service import ServiceProcess

from .helpers import Source, make_tree, push_to, source_pins

#: Pins on the shared source: CI scale (the benchmark migrates 5,000).
SOURCE_PINS = 150

ServiceFactory = Callable[..., ServiceProcess]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    """S: a service holding SOURCE_PINS pins made by ``bulkpin push``, shared by a module."""
    base = tmp_path_factory.mktemp("source")
    with ServiceProcess(base / "S", "--job-delay", TEST_JOB_DELAY) as svc:
        push_to(svc, make_tree(base / "tree", SOURCE_PINS, "s"))
        pins = source_pins(svc)
        assert len(pins) == SOURCE_PINS
        yield Source(svc, pins)


@pytest.fixture
def dest_factory(service_factory: ServiceFactory) -> Callable[..., ServiceProcess]:
    """``factory(source, *args)``: a destination D whose gateway is ``source``."""

    def factory(src: ServiceProcess, *args: str) -> ServiceProcess:
        return service_factory("--gateway", src.cloud_url, *args)

    return factory


@pytest.fixture
def dest(dest_factory: Callable[..., ServiceProcess], source: Source) -> ServiceProcess:
    """D, fetching from the shared S."""
    return dest_factory(source.service)


@pytest.fixture
def small_source(service_factory: ServiceFactory, tmp_path: Path) -> Source:
    """A source of its own (40 pins) for tests that change it or make it faulty."""
    svc = service_factory()
    push_to(svc, make_tree(tmp_path / "small", 40, "m"))
    return Source(svc, source_pins(svc))
