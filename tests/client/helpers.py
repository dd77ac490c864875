"""Helpers for the client's tests against ``bulkpin serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bulkpin.client import Credentials, DecooClient, load_credentials
from tests.support.service import ServiceProcess


class Sleeps:
    """An injected ``sleep`` that returns at once and remembers what was asked."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class FrozenClock:
    """A monotonic clock that only moves when told (the client never renews on its own)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def credentials_for(service: ServiceProcess, **overrides: Any) -> Credentials:
    """The service's default account, from its profile file."""
    return load_credentials(profile=service.profile_path, env={}, **overrides)


def make_client(
    service: ServiceProcess, *, sleep: Sleeps | None = None, **options: Any
) -> DecooClient:
    """A client for the service's default account, sleeping instantly unless told."""
    credentials = options.pop("credentials", None) or credentials_for(service)
    return DecooClient(credentials, sleep=sleep or Sleeps(), **options)


def requests(stats: dict[str, Any], route: str, status: str | None = None) -> int:
    """Requests the service saw on ``route`` (with ``status``, if given)."""
    by_status: dict[str, int] = stats["requests"].get(route, {})
    return by_status.get(status, 0) if status is not None else sum(by_status.values())


def total_requests(stats: dict[str, Any]) -> int:
    """Every request the service saw, on every route."""
    return sum(sum(by_status.values()) for by_status in stats["requests"].values())


def write_files(directory: Path, count: int, size: int = 40_000, tag: str = "") -> list[Path]:
    """``count`` files of distinct content (so distinct CIDs)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"file-{tag}{i:03}.bin"
        seed = f"{tag}:{i}:".encode()
        path.write_bytes((seed * (size // len(seed) + 1))[:size])
        paths.append(path)
    return paths
