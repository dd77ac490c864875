"""Package attributes imported on first use (PEP 562).

A package's ``__init__`` that imports every submodule makes each command pay
for all of them: ``bulkpin cid`` of one file loaded the directory, HAMT and
listing importers, some 20 frozen dataclasses at about a millisecond each,
a fifth of its start-up. A package built with :func:`lazy_exports` names its
public attributes and the submodule each lives in; the submodule is imported
when the attribute is first read, and the value then cached on the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps name -> ``.submodule``."""

    def __getattr__(name: str) -> object:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where, package), name)
        # Cached on the package: the next read is an ordinary attribute lookup.
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
