"""``docker-compose.yml`` cannot drift from the CLI: run each service's command natively.

There is no Docker engine here, so the test reads the compose file (written in
JSON, which is YAML too, so the standard library parses exactly what Docker
reads), maps its volumes to temporary directories and its ports to free
loopback ports, and runs every ``command`` and the healthcheck.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bulkpin.cli import _COMMANDS
from tests.support.service import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = json.loads((ROOT / "docker-compose.yml").read_text())


def _native(args: list[str], volumes: dict[str, Path]) -> list[str]:
    """A container command line for this machine: our Python, temp dirs, loopback."""
    if args[0] == "bulkpin":
        args = [sys.executable, "-m", "bulkpin", *args[1:]]
    elif args[0] == "python":
        args = [sys.executable, *args[1:]]
    out: list[str] = []
    for arg in args:
        mapped = arg
        for inside, outside in volumes.items():
            if arg == inside or arg.startswith(inside + "/"):
                mapped = str(outside) + arg[len(inside):]
        out.append(mapped)
    return out


def _volumes(service: dict[str, Any], tmp_path: Path) -> dict[str, Path]:
    mapping = {}
    for volume in service.get("volumes", []):
        inside = volume.split(":")[1]
        mapping[inside] = tmp_path / inside.strip("/")
        mapping[inside].mkdir(exist_ok=True)
    return mapping


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_compose_shape() -> None:
    serve = COMPOSE["services"]["serve"]
    args = serve["command"]
    published = {p.rsplit(":", 1)[1] for p in serve["ports"]}
    ports = {_option(args, "--cloud-port"), *_option(args, "--endpoint-ports").split(",")}
    assert published == ports
    assert serve["healthcheck"]["test"][-1].endswith(":" + _option(args, "--cloud-port"))
    assert "/data" in [v.split(":")[1] for v in serve["volumes"]]
    assert COMPOSE["services"]["push"]["depends_on"]["serve"]["condition"] == "service_healthy"


def test_serve_command_and_healthcheck_run_natively(tmp_path: Path) -> None:
    serve = COMPOSE["services"]["serve"]
    volumes = _volumes(serve, tmp_path)
    args = _native(serve["command"], volumes)
    # Loopback and free ports here instead of the container's published ones.
    args[args.index("--host") + 1] = "127.0.0.1"
    args[args.index("--advertise-host") + 1] = "127.0.0.1"
    args[args.index("--cloud-port") + 1] = "0"
    args[args.index("--endpoint-ports") + 1] = "0"
    assert args[3] == "serve"
    data_dir = Path(_option(args, "--data-dir"))
    with ServiceProcess(data_dir, *args[6:]).start() as svc:
        check = _native(serve["healthcheck"]["test"][1:], volumes)
        check[check.index("--url") + 1] = svc.cloud_url
        assert subprocess.run(check, timeout=60, check=False).returncode == 0
        push = COMPOSE["services"]["push"]
        if "push" not in _COMMANDS:
            pytest.skip("the push command is not part of this build yet")
        push_volumes = {**volumes, **_volumes(push, tmp_path)}
        push_volumes["/data"] = data_dir
        (push_volumes["/upload"] / "hello.txt").write_text("hello from compose\n")
        result = subprocess.run(_native(push["command"], push_volumes), capture_output=True,
                                text=True, timeout=300, check=False)
        # What this file owns is the command line: a usage error (2) is drift. Whether
        # the push itself succeeds is the push command's own tests' business.
        assert result.returncode != 2, result.stderr[-2000:]
        if result.returncode == 0:
            assert svc.stats()["pins"] == 1
    # A broken profile makes the healthcheck fail.
    check = _native(serve["healthcheck"]["test"][1:], volumes)
    check[check.index("--url") + 1] = "http://127.0.0.1:9"
    assert subprocess.run(check, timeout=60, check=False, capture_output=True).returncode == 1
