"""Fixtures shared by every test package: a private home, a running ``bulkpin serve``."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.push import POLL_INTERVAL, RETRY_BACKOFF
from tests.support.service import ServiceProcess

#: Quick job steps, so tests that wait for ``pinned`` are quick.
TEST_JOB_DELAY = "0.05"

#: How soon every ``bulkpin`` a test runs polls pin jobs (the README's testing
#: knob), instead of a first poll a whole second after the uploads.
TEST_POLL_INTERVAL = str(POLL_INTERVAL)

#: How soon every request a test makes is retried (the development guide's
#: knob): the same attempts, without seconds of backoff between them.
TEST_RETRY_BACKOFF = str(RETRY_BACKOFF)


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
    """``BULKPIN_POLL_INTERVAL`` and ``BULKPIN_RETRY_BACKOFF`` in os.environ, so the
    bulkpin processes tests start see them (and the policies built in-process)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BULKPIN_POLL_INTERVAL", TEST_POLL_INTERVAL)
        monkeypatch.setenv("BULKPIN_RETRY_BACKOFF", TEST_RETRY_BACKOFF)
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


class _Spares:
    """Services started ahead of the tests that will ask for them.

    A ``bulkpin serve`` takes about 0.7 s to be ready, most of it imports, and
    over a hundred tests each start one. A test takes a spare started while the
    test before it ran, and another is started for the next: a spare for each
    command line asked for more than once (parametrised tests), the two latest.
    (More spares, or more at once, cost the tests running beside them more CPU
    than they saved.) Each is fresh: its own data dir, never used before it is
    handed out, started with the session's home and umask whatever the test of
    the moment changed.
    """

    KEEP = 2

    def __init__(self, root: Path, home: Path, umask: int) -> None:
        self._root = root
        self._env = {variable: str(home / below) for variable, below in _HOME_VARIABLES}
        self._umask = umask
        self._names = itertools.count()
        self._asked: Counter[tuple[str, ...]] = Counter()
        self._spares: dict[tuple[str, ...], Future[ServiceProcess]] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="spare-service")

    def _start(self, args: tuple[str, ...]) -> ServiceProcess:
        data_dir = self._root / f"service-{next(self._names)}"
        return ServiceProcess(data_dir, *args, env=self._env, umask=self._umask).start()

    def take(self, *args: str) -> ServiceProcess:
        """A started service on a fresh data dir with these CLI options."""
        self._asked[args] += 1
        spare = self._spares.pop(args, None)
        svc = spare.result() if spare is not None else self._start(args)
        if self._asked[args] > 1:
            self._spares[args] = self._pool.submit(self._start, args)
            while len(self._spares) > self.KEEP:
                self._pool.submit(self._stop, self._spares.pop(next(iter(self._spares))))
        return svc

    @staticmethod
    def _stop(spare: Future[ServiceProcess]) -> None:
        spare.result().stop()

    def close(self) -> None:
        for spare in self._spares.values():
            self._stop(spare)
        self._pool.shutdown()


@pytest.fixture(scope="session")
def _spares(tmp_path_factory: pytest.TempPathFactory, _session_home: Path) -> Iterator[_Spares]:
    umask = os.umask(0o022)
    os.umask(umask)
    spares = _Spares(tmp_path_factory.mktemp("services"), _session_home, umask)
    yield spares
    spares.close()


@pytest.fixture
def service(_spares: _Spares) -> Iterator[ServiceProcess]:
    """A started service on a fresh data dir (``--job-delay 0.05``), stopped afterwards."""
    with _spares.take("--job-delay", TEST_JOB_DELAY) as svc:
        yield svc


@pytest.fixture
def service_factory(_spares: _Spares) -> Iterator[Callable[..., ServiceProcess]]:
    """``factory(*args)``: a started service with extra CLI options; all stopped afterwards."""
    started: list[ServiceProcess] = []

    def factory(*args: str) -> ServiceProcess:
        if "--job-delay" not in args:
            args = ("--job-delay", TEST_JOB_DELAY, *args)
        svc = _spares.take(*args)
        started.append(svc)
        return svc

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
