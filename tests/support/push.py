"""Running ``bulkpin push`` as a user does, and reading back what the service holds."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.cli import invoke
from tests.support.service import ServiceProcess

#: Seconds between pin-job polls in tests, in-process (``PushOptions(poll_interval=...)``)
#: and in every ``bulkpin`` the suite starts (``BULKPIN_POLL_INTERVAL``, set by conftest).
POLL_INTERVAL = 0.05

#: The first backoff (seconds) of a request's retries in every test
#: (``BULKPIN_RETRY_BACKOFF``, set by conftest): a request that gives up still
#: makes its six attempts, in ~0.3 s rather than ~8 s.
RETRY_BACKOFF = 0.02

#: The suite's testing knobs (docs/development.md), kept in the environment of a
#: ``bulkpin`` run that is otherwise stripped of every ``BULKPIN_*`` setting.
TESTING_KNOBS = ("BULKPIN_POLL_INTERVAL", "BULKPIN_RETRY_BACKOFF")


def env_without_settings(*keep: str) -> dict[str, str]:
    """This environment without any ``BULKPIN_*`` setting but the testing knobs (and ``keep``)."""
    kept = (*TESTING_KNOBS, *keep)
    return {k: v for k, v in os.environ.items() if not k.startswith("BULKPIN_") or k in kept}


def push_command(service: ServiceProcess | None, *args: str | Path) -> list[str]:
    """The command line of a push against ``service`` (or of a dry run)."""
    cmd = [sys.executable, "-m", "bulkpin", "push"]
    if service is not None:
        cmd += ["--profile", str(service.profile_path)]
    return cmd + [str(a) for a in args]


def run_push(service: ServiceProcess | None, *args: str | Path,
             timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a push to completion in-process (:func:`tests.support.cli.invoke`); output as text."""
    del timeout  # a subprocess's limit: pytest-timeout bounds an in-process run
    return invoke(*push_command(service, *args)[3:], env={"BULKPIN_PROFILE": None})


def run_push_subprocess(service: ServiceProcess | None, *args: str | Path,
                        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a push to completion as ``python -m bulkpin``; stdout/stderr captured as text."""
    env = dict(os.environ)
    env.pop("BULKPIN_PROFILE", None)
    return subprocess.run(push_command(service, *args), capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)


def cloud_get(service: ServiceProcess, path: str, profile: Path | None = None) -> Any:
    """GET a Cloud route with the account's API key.

    Tests read back through a service they made faulty on purpose (503, 429,
    garbage, resets...), so a read is tried again until it gets JSON: the check
    must not fail on the very faults the test injected.
    """
    conf = tomllib.loads((profile or service.profile_path).read_text())
    request = urllib.request.Request(service.cloud_url + path,
                                     headers={"Authorization": f"Bearer {conf['api_key']}"})
    last: Exception | None = None
    for _ in range(50):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, ValueError, http.client.HTTPException) \
                as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"GET {path} kept failing: {last!r}")


def all_pins(service: ServiceProcess) -> list[dict[str, Any]]:
    """Every pin of the account, through ``pinList``."""
    pins: list[dict[str, Any]] = []
    while True:
        page = cloud_get(service, f"/pinning/pinList?limit=1000&offset={len(pins)}&sort=ASC")
        pins += page["Pins"]
        if not page["Pins"] or len(pins) >= int(page["Count"]):
            return pins


def all_jobs(service: ServiceProcess) -> list[dict[str, Any]]:
    """Every pin job of the account, through ``pinJobs``."""
    jobs: list[dict[str, Any]] = []
    while True:
        page = cloud_get(service, f"/pinning/pinJobs?limit=1000&offset={len(jobs)}&sort=ASC")
        jobs += page["Jobs"]
        if not page["Jobs"] or len(jobs) >= int(page["Count"]):
            return jobs


def manifest(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL manifest."""
    return [json.loads(line) for line in path.read_text(errors="surrogateescape").splitlines()]


def pin_file_requests(service: ServiceProcess) -> int:
    """How many pinFile requests the service has seen since it started."""
    return sum(service.stats()["requests"].get("pinFile", {}).values())
