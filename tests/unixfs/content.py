"""Deterministic file contents, defined identically in tests/golden/generate.mjs.

``{"seed": s, "size": n}`` is the concatenation over k = 0, 1, ... of
sha256(utf8(s) || k as 8-byte big-endian), cut to n bytes: incompressible, and
no two chunks alike, so a chunk-order bug cannot hide.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TypedDict


class ContentSpec(TypedDict):
    seed: str
    size: int


@functools.lru_cache(maxsize=8)
def content(seed: str, size: int) -> bytes:
    prefix = seed.encode()
    blocks = (size + 31) // 32
    data = b"".join(
        hashlib.sha256(prefix + k.to_bytes(8, "big")).digest() for k in range(blocks)
    )
    return data[:size]


def from_spec(spec: ContentSpec) -> bytes:
    return content(spec["seed"], spec["size"])
