"""Sources: streams of items to pin, in bounded memory.

References for ``bulkpin pin`` (CIDs from a list, a Pinning Service API, a kubo
node) are re-exported here. Bytes from object storage and HTTP for ``push``
live in :mod:`.s3` and :mod:`.http` (with :mod:`.remote`, :mod:`.resume` and
:mod:`.remote_errors`), imported by module so that commands that do not read a
bucket never load the S3 client.

::

    from bulkpin.sources import open_source

    source = open_source("psa:https://api.pinata.cloud/psa", token_env="SRC_TOKEN",
                         token_file=None)
    async for entry in source:          # PinItem, or BadLine for an entry that is no CID
        ...

Modules, one job each: :mod:`.items` (what a source yields, the ``PinSource``
interface), :mod:`.cid_text` (validating and normalising CID text),
:mod:`.cidlist` (a file or stdin), :mod:`.psa` (a Pinning Service API) with
:mod:`.psa_paging` (paging on ``created`` exactly once), :mod:`.kubo` (a kubo
node's RPC API), :mod:`.tokens` (a source's token), :mod:`.errors` and
:mod:`.spec` (``--from``: which source a spec names).
"""

from .cid_text import InvalidCid, normalise_cid
from .cidlist import STDIN, CidListSource
from .errors import SourceAuthenticationError, SourceError, SourceSpecError
from .items import BadLine, PinItem, PinSource, SourceEntry
from .kubo import KuboSource
from .psa import PsaSource
from .psa_paging import MAX_PAGE_SIZE
from .spec import open_source
from .tokens import SourceToken, load_token

__all__ = [
    "MAX_PAGE_SIZE",
    "STDIN",
    "BadLine",
    "CidListSource",
    "InvalidCid",
    "KuboSource",
    "PinItem",
    "PinSource",
    "PsaSource",
    "SourceAuthenticationError",
    "SourceEntry",
    "SourceError",
    "SourceSpecError",
    "SourceToken",
    "load_token",
    "normalise_cid",
    "open_source",
]
