"""Every package imports first, in a fresh interpreter.

The run packages and the movers import each other's modules; a package that can
only be imported after another (a cycle that meets itself half-built) works in
the CLI and fails a library caller who starts with it.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import bulkpin

PACKAGES = sorted(
    ["bulkpin"]
    + [f"bulkpin.{m.name}" for m in pkgutil.iter_modules(bulkpin.__path__) if m.ispkg]
    + ["bulkpin.movers.pin_file", "bulkpin.movers.pin_by_hash", "bulkpin.movers.local_files",
       "bulkpin.movers.attempts", "bulkpin.sources.local", "bulkpin.sources.objects"]
)


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_imports_first(name: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
