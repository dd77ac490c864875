"""A UnixFS v1 importer that computes CIDs exactly as kubo's ``ipfs add --only-hash``.

One module per stage, as in js-ipfs-unixfs's importer:

- :mod:`.profiles`: named parameter sets (``unixfs-v0-2015``, ``unixfs-v1-2025``);
- :mod:`.chunker`: fixed-size chunking of a byte stream;
- :mod:`.layout`: the balanced DAG layout;
- :mod:`.node`: dag-pb / UnixFS encoding and CIDs;
- :mod:`.file_builder`: the incremental, constant-memory file importer;
- :mod:`.parallel`: one file's leaves hashed on several threads;
- :mod:`.directory` and :mod:`.hamt`: directory nodes, plain and sharded;
- :mod:`.tree`: walking paths on disk with a pool of hashing threads;
- :mod:`.from_listing`: a tree's root from a listing of its files' CIDs and sizes.

Names are imported on first use (:mod:`bulkpin._lazy`): ``bulkpin cid`` of
one file loads the file importer and the walk, not the listing importer.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .directory import DirectoryBuilder, DirectoryResult, symlink_link
    from .file_builder import FileBuilder, FileResult, hash_bytes, hash_file
    from .from_listing import ListedFile, ListedRoot, ListingError, roots_from_listing
    from .node import Link
    from .parallel import hash_file_parallel
    from .profiles import (
        DEFAULT_PROFILE,
        PROFILES,
        UNIXFS_V0_2015,
        UNIXFS_V1_2025,
        CidProfile,
        ProfileError,
        get_profile,
    )
    from .tree import TreeEntry, TreeError, TreeImporter, import_tree

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "UNIXFS_V0_2015",
    "UNIXFS_V1_2025",
    "CidProfile",
    "DirectoryBuilder",
    "DirectoryResult",
    "FileBuilder",
    "FileResult",
    "Link",
    "ListedFile",
    "ListedRoot",
    "ListingError",
    "ProfileError",
    "TreeEntry",
    "TreeError",
    "TreeImporter",
    "get_profile",
    "hash_bytes",
    "hash_file",
    "hash_file_parallel",
    "import_tree",
    "roots_from_listing",
    "symlink_link",
]

_EXPORTS = {
    "CidProfile": ".profiles",
    "DEFAULT_PROFILE": ".profiles",
    "DirectoryBuilder": ".directory",
    "DirectoryResult": ".directory",
    "FileBuilder": ".file_builder",
    "FileResult": ".file_builder",
    "Link": ".node",
    "ListedFile": ".from_listing",
    "ListedRoot": ".from_listing",
    "ListingError": ".from_listing",
    "PROFILES": ".profiles",
    "ProfileError": ".profiles",
    "TreeEntry": ".tree",
    "TreeError": ".tree",
    "TreeImporter": ".tree",
    "UNIXFS_V0_2015": ".profiles",
    "UNIXFS_V1_2025": ".profiles",
    "get_profile": ".profiles",
    "hash_bytes": ".file_builder",
    "hash_file": ".file_builder",
    "hash_file_parallel": ".parallel",
    "import_tree": ".tree",
    "roots_from_listing": ".from_listing",
    "symlink_link": ".directory",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)
