"""Proving that what is pinned can be fetched from IPFS gateways, block by block.

:func:`verify_cid` fetches a CID's DAG from trustless gateways as a CAR
(raw blocks for what the CAR lacks), checks every block against its CID as
it arrives, walks the UnixFS DAG from the root and answers one typed
:data:`Outcome`. Bytes are streamed and checked, never kept whole, never
written to disk.
"""

from ._http import same_origin_get
from ._outcomes import (
    Corrupt,
    FailureKind,
    GatewayFailure,
    Incomplete,
    Outcome,
    Retrievable,
    Unreachable,
    WrongSize,
)
from ._verify import DEFAULT_TIMEOUT, verify_cid
from ._walk import DagWalk

__all__ = [
    "DEFAULT_TIMEOUT",
    "Corrupt",
    "DagWalk",
    "FailureKind",
    "GatewayFailure",
    "Incomplete",
    "Outcome",
    "Retrievable",
    "Unreachable",
    "WrongSize",
    "same_origin_get",
    "verify_cid",
]
