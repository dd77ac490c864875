"""Fixtures shared by every test package: a running ``bulkpin serve``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess

#: Quick job steps, so tests that wait for ``pinned`` are quick.
TEST_JOB_DELAY = "0.05"


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A started service on a fresh data dir (``--job-delay 0.05``), stopped afterwards."""
    with ServiceProcess(tmp_path / "service", "--job-delay", TEST_JOB_DELAY).start() as svc:
        yield svc


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """``factory(*args)``: a started service with extra CLI options; all stopped afterwards."""
    started: list[ServiceProcess] = []

    def factory(*args: str) -> ServiceProcess:
        if "--job-delay" not in args:
            args = ("--job-delay", TEST_JOB_DELAY, *args)
        svc = ServiceProcess(tmp_path / f"service-{len(started)}", *args)
        started.append(svc)
        return svc.start()

    yield factory
    errors = []
    for svc in started:
        try:
            svc.stop()
        except Exception as exc:  # keep stopping the others
            svc.kill()
            errors.append(exc)
    if errors:
        raise errors[0]
