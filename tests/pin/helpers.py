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


def run_pin(dest: ServiceProcess | None, *args: str | Path, token: str | None = None,
            stdin: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``bulkpin pin`` to its end; the source's token (if any) in ``SRC_TOKEN``."""
    environ = dict(os.environ)
    environ.pop("BULKPIN_PROFILE", None)
    environ.pop("SRC_TOKEN", None)
    if token is not None:
        environ["SRC_TOKEN"] = token
    environ.update(env or {})
    result = subprocess.run(pin_command(dest, *args), input=stdin, capture_output=True,
                            timeout=timeout, check=False, env=environ)
    return subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))


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
