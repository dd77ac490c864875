"""Fixtures shared by every test package: a private home, a running ``bulkpin serve``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess

#: Quick job steps, so tests that wait for ``pinned`` are quick.
TEST_JOB_DELAY = "0.05"

#: How soon every ``bulkpin`` a test runs polls pin jobs (the README's testing
#: knob), instead of a first poll a whole second after the uploads.
TEST_POLL_INTERVAL = "0.05"


#: The variables platformdirs (and so bulkpin's default journal, profile and data
#: dirs) and npm read for "the user's home", with where each goes in a test's home.
_HOME_VARIABLES = (
    ("HOME", ""),
    ("XDG_CONFIG_HOME", ".config"),
    ("XDG_DATA_HOME", ".local/share"),
    ("XDG_STATE_HOME", ".local/state"),
    ("XDG_CACHE_HOME", ".cache"),
)


def _point_home_at(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Set in os.environ, so the bulkpin processes a test starts inherit it too.
    for variable, below in _HOME_VARIABLES:
        monkeypatch.setenv(variable, str(home / below))


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home for session- and module-wide fixtures, made before any of them."""
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _point_home_at(home, monkeypatch)
        yield home


@pytest.fixture(scope="session", autouse=True)
def _quick_polls() -> Iterator[None]:
    """``BULKPIN_POLL_INTERVAL`` in os.environ, so the bulkpin processes tests start see it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BULKPIN_POLL_INTERVAL", TEST_POLL_INTERVAL)
        yield


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own HOME and XDG directories: no test writes into the real home.

    (A journal would land in ``~/.local/state/bulkpin``, the embedded service in
    ``~/.local/share/bulkpin``.) Outside ``tmp_path``, so tests that list their
    ``tmp_path`` see only what they made.
    """
    home = tmp_path_factory.mktemp("home")
    _point_home_at(home, monkeypatch)
    return home


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
