"""A local Decoo-compatible pinning service: ``bulkpin serve`` and the embedded default.

One Cloud listener and one or more Endpoint listeners share a data dir holding
SQLite (accounts, pins, jobs) and a content-addressed blob store. Modules, one
job each:

- :mod:`.config`: :class:`ServiceConfig` and its defaults;
- :mod:`.server`: :class:`LocalService`, listeners, start and stop;
- :mod:`.cloud` and :mod:`.endpoint`: the routes of each side;
- :mod:`.upload`: streaming a ``pinFile`` body through the CID engine to disk;
- :mod:`.jobs`: the pin-job worker;
- :mod:`.db`, :mod:`.blobs`: state on disk; :mod:`.private_files`: kept private;
  :mod:`.data_dir_lock`: one service per data dir;
- :mod:`.accounts`, :mod:`.tokens`, :mod:`.auth`: accounts, keys, tokens, callers;
- :mod:`.faults`, :mod:`.ratelimit`, :mod:`.stats`, :mod:`.middleware`: the test levers;
- :mod:`.errors`, :mod:`.params`: error answers and request parsing;
- :mod:`.process`: :class:`ServeProcess`, ``bulkpin serve`` as a child process
  (the embedded default, tests and benchmarks start it).
"""

from .config import ServiceConfig, default_data_dir, parse_ports, parse_rate_limit
from .data_dir_lock import DataDirInUseError
from .faults import FaultPlan, FaultSpecError, parse_faults
from .gateway_faults import GatewayFaults, parse_gateway_faults
from .private_files import SharedDataDirError
from .process import ServeProcess, ServeProcessError
from .server import LocalService, init_accounts, run_until_signalled

__all__ = [
    "DataDirInUseError",
    "FaultPlan",
    "FaultSpecError",
    "GatewayFaults",
    "LocalService",
    "ServeProcess",
    "ServeProcessError",
    "ServiceConfig",
    "SharedDataDirError",
    "default_data_dir",
    "init_accounts",
    "parse_faults",
    "parse_gateway_faults",
    "parse_ports",
    "parse_rate_limit",
    "run_until_signalled",
]
