"""bulkpin: pin large directory trees to the Decoo IPFS pinning service.

The CID engine lives in :mod:`bulkpin.unixfs`. Its names are re-exported here
lazily, so a command that needs none of them does not import it.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:
    from .unixfs import (
        DEFAULT_PROFILE,
        CidProfile,
        FileBuilder,
        FileResult,
        get_profile,
        hash_file,
    )

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PROFILE",
    "CidProfile",
    "FileBuilder",
    "FileResult",
    "__version__",
    "get_profile",
    "hash_file",
]

__getattr__ = lazy_exports(__name__, {name: ".unixfs" for name in __all__ if name != "__version__"})
