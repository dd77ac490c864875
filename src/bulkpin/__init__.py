"""bulkpin: pin large directory trees to the Decoo IPFS pinning service.

The CID engine lives in :mod:`bulkpin.unixfs`.
"""

from .unixfs import DEFAULT_PROFILE, CidProfile, FileBuilder, FileResult, get_profile, hash_file

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
