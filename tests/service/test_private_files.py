"""The data dir holds every account's private key: 0700, and every file in it 0600.

Whatever the umask the service starts with, over real HTTP on loopback (issue 15, part 1).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkpin.embedded import EmbeddedService
from bulkpin.service import LocalService, ServiceConfig
from bulkpin.service.config import default_data_dir
from tests.support.service import ServiceProcess

from .helpers import Account, access_token, pin_file, upload_parts


def _serve(*args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bulkpin", "serve", *args],
                          capture_output=True, text=True, timeout=60, check=False, umask=umask)


def _modes(root: Path) -> Iterator[tuple[Path, int]]:
    yield root, stat.S_IMODE(root.stat().st_mode)
    for path in root.rglob("*"):
        yield path, stat.S_IMODE(path.lstat().st_mode)


def _loose(root: Path) -> list[str]:
    """Every entry under ``root`` (itself included) that is not private."""
    return [f"{path} {mode:04o}" for path, mode in _modes(root)
            if mode != (0o700 if path.is_dir() else 0o600)]


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_every_file_is_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "svc"
    with ServiceProcess(data, "--job-delay", "0.05", umask=umask).start() as svc:
        account = Account.load(svc.profile_path)
        token = access_token(svc, account)
        assert pin_file(svc, token, upload_parts(b"a key's neighbour" * 100, account)).status == 200
        svc.new_account("bob")
        names = {p.name for p in data.rglob("*")}
        # The files SQLite makes beside the database are among those checked.
        assert {"bulkpin.sqlite3", "bulkpin.sqlite3-wal", "bulkpin.sqlite3-shm",
                "jwt-secret", "profile.toml", "profile-bob.toml", "blobs", "tmp"} <= names
        assert _loose(data) == []
    assert _loose(data) == []


def test_init_only_under_an_open_umask(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    result = _serve("--data-dir", str(data), "--init-only", umask=0)
    assert result.returncode == 0, result.stderr
    assert (data / "bulkpin.sqlite3").exists()
    assert _loose(data) == []


def test_a_readable_data_dir_is_served_with_a_warning(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    result = _serve("--data-dir", str(data), "--init-only")
    assert result.returncode == 0, result.stderr
    assert "can be read by other users" in result.stderr
    # The directory is the operator's; what the service wrote in it is private.
    assert stat.S_IMODE(data.stat().st_mode) == 0o755
    assert _loose(data) == [f"{data} 0755"]


def test_a_data_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    data.mkdir()
    data.chmod(0o777)
    for args in (["--init-only"], ["--cloud-port", "0", "--endpoint-ports", "0"]):
        result = _serve("--data-dir", str(data), *args)
        assert result.returncode == 2
        assert "can be written by other users" in result.stderr
        assert "--allow-shared-data-dir" in result.stderr
        assert list(data.iterdir()) == []
    result = _serve("--data-dir", str(data), "--init-only", "--allow-shared-data-dir")
    assert result.returncode == 0, result.stderr
    assert "can be written to by other users" in result.stderr
    assert _loose(data) == [f"{data} 0777"]


def test_files_an_older_version_left_readable_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    assert _serve("--data-dir", str(data), "--init-only").returncode == 0
    for name in ("bulkpin.sqlite3", "jwt-secret", "profile.toml"):
        (data / name).chmod(0o644)
    with ServiceProcess(data, "--job-delay", "0.05").start():
        assert _loose(data) == []


@pytest.mark.anyio
async def test_in_process_service_makes_private_files_under_an_open_umask(
    tmp_path: Path,
) -> None:
    # LocalService sets no umask (it is the host process's): explicit modes do the work.
    previous = os.umask(0)
    try:
        async with LocalService(ServiceConfig(data_dir=tmp_path / "svc")) as svc:
            assert svc.profile_path.exists()
            loose = _loose(svc.data_dir)
    finally:
        os.umask(previous)
    assert loose == []


def test_embedded_default_data_dir_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data = default_data_dir()
    assert data.is_relative_to(tmp_path)
    with EmbeddedService() as svc:
        assert svc.data_dir == data
        assert _loose(data) == []
    # A default dir made 0755 by an older version is made private.
    data.chmod(0o755)
    with EmbeddedService():
        assert _loose(data) == []
