"""Start, stop, restart, crash; the CLI's options and exit statuses."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess, wait_for

from .helpers import Account, access_token, cid_of, get, jobs, pin_file, upload_parts


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bulkpin", "serve", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_restart_keeps_accounts_pins_and_jobs(service: ServiceProcess) -> None:
    account = Account.load(service.profile_path)
    bob_profile = service.new_account("bob")
    token = access_token(service, account)
    assert pin_file(service, token, upload_parts(b"kept", account)).status == 200
    wait_for(lambda: jobs(service, account, status="pinned")["Count"] == 1)
    service.restart()
    # Same keys, new port: the profile follows the port actually served.
    again = Account.load(service.profile_path)
    assert again.api_key == account.api_key
    assert again.cloud_url == service.cloud_url
    assert Account.load(bob_profile).cloud_url == service.cloud_url
    assert jobs(service, again)["Jobs"][0]["PinHash"] == cid_of(b"kept")
    assert get(service.cloud_url + "/pinning/pinList", again).json()["Count"] == 1
    assert get(service.cloud_url + "/ping", Account.load(bob_profile)).status == 200


def test_jobs_in_flight_carry_on_after_a_crash(
    service_factory: Callable[..., ServiceProcess],
) -> None:
    svc = service_factory("--job-delay", "3")
    account = Account.load(svc.profile_path)
    token = access_token(svc, account)
    assert pin_file(svc, token, upload_parts(b"in flight", account)).status == 200
    assert jobs(svc, account)["Jobs"][0]["Status"] == "queued"
    svc.kill()
    svc.start()
    assert wait_for(lambda: jobs(svc, account, status="pinned")["Count"] == 1, timeout=30)
    assert svc.stats()["pins"] == 1


def test_init_only_and_new_account(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    result = _serve("--data-dir", str(data), "--init-only")
    assert result.returncode == 0
    assert result.stdout == f"bulkpin serve: profile {data / 'profile.toml'}\n"
    profile = tomllib.loads((data / "profile.toml").read_text())
    assert set(profile) == {"cloud_url", "api_key", "private_key"}
    assert (data / "profile.toml").stat().st_mode & 0o777 == 0o600
    result = _serve("--data-dir", str(data), "--init-only", "--new-account", "carol")
    assert result.stdout == f"bulkpin serve: profile {data / 'profile-carol.toml'}\n"
    carol = tomllib.loads((data / "profile-carol.toml").read_text())
    assert carol["api_key"] != profile["api_key"]
    # Idempotent: the same account again keeps its keys.
    _serve("--data-dir", str(data), "--init-only", "--new-account", "carol")
    assert tomllib.loads((data / "profile-carol.toml").read_text()) == carol


@pytest.mark.parametrize(
    "args",
    [["--endpoint-ports", "80000"], ["--endpoint-ports", "a,b"], ["--rate-limit", "fast"],
     ["--rate-limit", "0/min"], ["--new-account", "../evil"], ["--new-account", "default"],
     ["--job-delay", "-1"], ["--token-ttl", "0"]],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    result = _serve("--data-dir", str(tmp_path / "svc"), "--init-only", *args)
    assert result.returncode == 2, result.stderr


def test_a_port_in_use_is_a_configuration_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _serve("--data-dir", str(tmp_path / "svc"), "--cloud-port", str(port))
    assert result.returncode == 2
    assert "bulkpin serve:" in result.stderr


def test_ready_lines_are_exact(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--endpoint-ports", "0,0,0")
    assert len(svc.endpoint_urls) == 3
    assert len(set(svc.endpoint_urls)) == 3
    assert svc.profile_path.is_absolute()
