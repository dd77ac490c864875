"""The shared fixture itself: start, parse, stop, restart, accounts."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.service import ServiceProcess


def test_fixture_parses_ready_lines(service: ServiceProcess) -> None:
    assert service.cloud_url.startswith("http://127.0.0.1:")
    assert len(service.endpoint_urls) == 1
    assert service.profile_path.is_file()
    assert service.profile_path.stat().st_mode & 0o777 == 0o600
    stats = service.stats()
    assert stats["pins"] == 0
    assert stats["accounts"] == 1


def test_factory_two_endpoints_and_restart(service_factory: Callable[..., ServiceProcess]) -> None:
    svc = service_factory("--endpoint-ports", "0,0")
    assert len(svc.endpoint_urls) == 2
    first = svc.cloud_url
    svc.restart()
    assert len(svc.endpoint_urls) == 2
    assert svc.profile_path.read_text().count(svc.cloud_url) == 1
    del first
    path = svc.new_account("bob")
    assert path.name == "profile-bob.toml"
    assert svc.cloud_url in path.read_text()
