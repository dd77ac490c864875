"""``bulkpin serve`` as a real subprocess, for tests that need a Decoo to talk to.

The contract other tests rely on: :class:`ServiceProcess` starts
``python -m bulkpin serve`` on a data dir with free ports, parses the lines it
prints when ready, and stops it with SIGTERM (asserting a clean exit). It is the
package's own launcher, :class:`bulkpin.service.ServeProcess`, under the name
the tests know.
"""

from __future__ import annotations

import time
from typing import Any

from bulkpin.service.process import ServeProcess as ServiceProcess
from bulkpin.service.process import ServeProcessError as ServiceError

__all__ = ["ServiceError", "ServiceProcess", "wait_for"]


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.02) -> Any:
    """Poll ``predicate()`` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)
