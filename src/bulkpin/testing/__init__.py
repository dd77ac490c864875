"""Tools for exercising bulkpin against a local ``bulkpin serve``: for tests and benchmarks.

bulkpin itself never imports this package. Modules, one job each:

- :mod:`.proxy`: :class:`ChaosProxy`, a seeded TCP fault proxy (resets, black
  holes, slow links, cut answers, rewritten answers, TLS in front), and a WAN
  link (:class:`Shape`: round trip, a cap shared by every connection, window);
- :mod:`.account`: :class:`Account` and :func:`access_token`, a local service's
  account for code that speaks HTTP to it by hand.

The service process itself is :class:`bulkpin.service.ServeProcess`.
"""

from .account import Account, access_token
from .proxy import PASS, ChaosProxy, Fault, ProxyStats, Response, Rewrite, Shape, Tap

__all__ = [
    "PASS",
    "Account",
    "ChaosProxy",
    "Fault",
    "ProxyStats",
    "Response",
    "Rewrite",
    "Shape",
    "Tap",
    "access_token",
]
