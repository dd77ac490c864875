"""Fixtures of the reliability suite: one shared service per module, isolated accounts."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_JOB_DELAY
from tests.support.service import ServiceProcess

from .helpers import FIGURES, new_accounts

_names = itertools.count()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One quiet service for a whole module; tests keep apart through :func:`new_account`."""
    data = tmp_path_factory.mktemp("shared") / "service"
    with ServiceProcess(data, "--job-delay", TEST_JOB_DELAY).start() as svc:
        yield svc


class AccountPool:
    """Fresh accounts on a service, made a batch at a time (one subprocess per batch)."""

    def __init__(self, service: ServiceProcess, batch: int = 16) -> None:
        self.service = service
        self.batch = batch
        self.free: list[Path] = []

    def take(self) -> Path:
        if not self.free:
            names = [f"acct{next(_names)}" for _ in range(self.batch)]
            self.free = new_accounts(self.service, *names)
        return self.free.pop(0)


@pytest.fixture(scope="module")
def account_pool(shared: ServiceProcess) -> AccountPool:
    return AccountPool(shared)


@pytest.fixture
def new_account(account_pool: AccountPool) -> Callable[[], Path]:
    """``new_account()``: the profile of a fresh, empty account on the shared service."""
    return account_pool.take


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures this run measured, for docs/reliability.md."""
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
