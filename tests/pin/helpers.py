"""A source service S holding pins made by bulkpin's push, a destination D that fetches
from S as its gateway, and ``bulkpin pin`` run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import PushOptions, PushSummary, push
from tests.support.cli import invoke
from tests.support.push import all_pins
from tests.support.service import ServiceProcess


@dataclass(frozen=True)
class Source:
    """A service S and the pins ``push`` made on it: CID -> name."""

    service: ServiceProcess
    pins: dict[str, str]

    @property
    def psa(self) -> str:
        return f"psa:{self.service.cloud_url}/psa"

    @property
    def token(self) -> str:
        key = tomllib.loads(self.service.profile_path.read_text())["api_key"]
        assert isinstance(key, str)
        return key


def make_tree(root: Path, count: int, tag: str) -> Path:
    """``count`` small files of distinct content."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"{tag}-{i:05d}.txt").write_text(f"{tag} file {i}\n" * (1 + i % 7))
    return root


def push_to(service: ServiceProcess, tree: Path) -> None:
    """Pin ``tree`` on ``service`` (not waiting for its jobs): in-process, as it only
    makes a source for ``pin``; the push CLI has tests of its own."""

    async def run() -> PushSummary:
        credentials = load_credentials(profile=service.profile_path, env={})
        async with DecooClient(credentials) as client:
            return await push([str(tree)], PushOptions(wait=False), client=client)

    summary = anyio.run(run)
    assert summary.exit_status == 0, summary.reason


def source_pins(service: ServiceProcess) -> dict[str, str]:
    return {p["PinHash"]: p["Metadata"]["name"] for p in all_pins(service)}


def pin_command(dest: ServiceProcess | None, *args: str | Path) -> list[str]:
    cmd = [sys.executable, "-m", "bulkpin", "pin"]
    if dest is not None:
        cmd += ["--profile", str(dest.profile_path)]
    return cmd + [str(a) for a in args]


def _pin_env(token: str | None, env: dict[str, str] | None) -> dict[str, str | None]:
    # No stray account, the source's token (if any) in SRC_TOKEN, then ``env``.
    return {"BULKPIN_PROFILE": None, "SRC_TOKEN": token, **(env or {})}


def run_pin(dest: ServiceProcess | None, *args: str | Path, token: str | None = None,
            stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``bulkpin pin`` to its end in-process (:func:`tests.support.cli.invoke`); the
    source's token (if any) in ``SRC_TOKEN``."""
    return invoke(*pin_command(dest, *args)[3:], env=_pin_env(token, env), stdin=stdin)


def run_pin_subprocess(dest: ServiceProcess | None, *args: str | Path, token: str | None = None,
                       env: dict[str, str] | None = None,
                       timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """:func:`run_pin` as ``python -m bulkpin``: for a run that kills its own process."""
    environ: dict[str, str] = dict(os.environ)
    for name, value in _pin_env(token, env).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(pin_command(dest, *args), capture_output=True, text=True,
                          timeout=timeout, check=False, env=environ, errors="replace")


def requests_of(service: ServiceProcess, route: str) -> int:
    counts: dict[str, int] = service.stats()["requests"].get(route, {})
    return sum(counts.values())


def dest_pins(service: ServiceProcess) -> dict[str, str]:
    return source_pins(service)


def assert_migrated(dest: ServiceProcess, wanted: dict[str, str]) -> None:
    """Every wanted CID pinned on ``dest`` under its name, no job twice."""
    held = dest_pins(dest)
    assert held == wanted
    stats: dict[str, Any] = dest.stats()
    assert stats["duplicate_jobs"] == 0
    assert stats["jobs"]["failed"] == 0
