"""Named CID profiles: the one place where importer defaults live.

The names follow IPIP-499. ``unixfs-v0-2015`` is what kubo's ``ipfs add`` has
always done and what Decoo verifies uploads against; ``unixfs-v1-2025`` is the
modern profile (CIDv1, raw leaves, larger chunks and wider nodes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

SizeEstimation = Literal["links", "block"]

#: kubo's HAMTShardingSize: a directory whose estimated node size passes this
#: many bytes (strictly greater) is written as a HAMT-sharded directory.
HAMT_THRESHOLD = 256 * 1024
#: Width of each HAMT shard node (kubo's and Decoo's only choice).
HAMT_FANOUT = 256

#: Largest chunk we accept; kubo refuses chunks above 1 MiB + 256 KiB too, since
#: bitswap will not move blocks larger than ~2 MiB.
MAX_CHUNK_SIZE = 1024 * 1024 + 256 * 1024


class ProfileError(ValueError):
    """An unknown profile name or an impossible combination of overrides."""


@dataclass(frozen=True, slots=True)
class CidProfile:
    """How a file or tree is chunked, laid out and addressed.

    Build one with :func:`get_profile`; the fields mirror kubo's ``Import.*``
    settings.
    """

    name: str
    chunk_size: int
    max_links: int
    raw_leaves: bool
    cid_version: int
    #: "links": sum of name length + CID length per entry (kubo's legacy
    #: estimate); "block": the exact serialized size of the directory node.
    size_estimation: SizeEstimation = "links"
    hamt_threshold: int = HAMT_THRESHOLD
    hamt_fanout: int = HAMT_FANOUT

    @property
    def leaf_cid_version(self) -> int:
        """CID version of leaf blocks: raw blocks can only be named by CIDv1."""
        return 1 if self.raw_leaves else self.cid_version


UNIXFS_V0_2015 = CidProfile(
    name="unixfs-v0-2015",
    chunk_size=256 * 1024,
    max_links=174,
    raw_leaves=False,
    cid_version=0,
    size_estimation="links",
)

UNIXFS_V1_2025 = CidProfile(
    name="unixfs-v1-2025",
    chunk_size=1024 * 1024,
    max_links=1024,
    raw_leaves=True,
    cid_version=1,
    size_estimation="block",
)

PROFILES: dict[str, CidProfile] = {p.name: p for p in (UNIXFS_V0_2015, UNIXFS_V1_2025)}

#: Decoo's profile, and kubo's default.
DEFAULT_PROFILE = UNIXFS_V0_2015


def get_profile(
    name: str | None = None,
    *,
    chunk_size: int | None = None,
    max_links: int | None = None,
    raw_leaves: bool | None = None,
    cid_version: int | None = None,
) -> CidProfile:
    """Return the named profile (default :data:`DEFAULT_PROFILE`) with overrides applied.

    A profile with any override gets a derived name, so a manifest never claims
    a standard profile for CIDs that were computed differently.
    """
    base_name = name or DEFAULT_PROFILE.name
    try:
        base = PROFILES[base_name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ProfileError(f"unknown CID profile {base_name!r} (known: {known})") from None
    changes: dict[str, int | bool] = {}
    if chunk_size is not None and chunk_size != base.chunk_size:
        changes["chunk_size"] = chunk_size
    if max_links is not None and max_links != base.max_links:
        changes["max_links"] = max_links
    if raw_leaves is not None and raw_leaves != base.raw_leaves:
        changes["raw_leaves"] = raw_leaves
    if cid_version is not None and cid_version != base.cid_version:
        changes["cid_version"] = cid_version
    if not changes:
        return base
    profile = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    _validate(profile)
    suffix = ",".join(f"{k}={int(v)}" for k, v in sorted(changes.items()))
    return dataclasses.replace(profile, name=f"{base.name}+{suffix}")


def _validate(profile: CidProfile) -> None:
    if not 1 <= profile.chunk_size <= MAX_CHUNK_SIZE:
        raise ProfileError(f"chunk size must be between 1 and {MAX_CHUNK_SIZE} bytes")
    if profile.max_links < 2:
        raise ProfileError("max links per node must be at least 2")
    if profile.cid_version not in (0, 1):
        raise ProfileError("CID version must be 0 or 1")


def profile_for_cid(cid: str, profile_name: str | None = None) -> CidProfile:
    """The profile a claimed CID was computed with, as the Decoo service infers it.

    An explicit ``profile_name`` (``decooMetadata.cidProfile``) wins; otherwise
    CIDv0 (``Qm...``) means ``unixfs-v0-2015`` and CIDv1 means ``unixfs-v1-2025``.
    """
    if profile_name:
        return get_profile(profile_name)
    return UNIXFS_V0_2015 if cid.startswith("Qm") and len(cid) == 46 else UNIXFS_V1_2025
