"""Where a verification keeps its journal by default: one per input and sample.

Running the same command again resumes it. The key is the input as
:attr:`~._items.VerifyInput.label` names it (a journal, a manifest or a CID
list by absolute path; stdin as one), with the sample, since another sample is
another set of CIDs. Verification journals live beside push's and pin's, in a
directory of their own: they belong to no destination.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import platformdirs

from ._sample import Sample

__all__ = ["default_verify_journal_path"]


def default_verify_journal_path(key: str, sample: Sample | None = None) -> Path:
    """The journal of the input named ``key``, for ``sample``."""
    digest = hashlib.sha256(b"verify\0" + key.encode("utf-8", "surrogateescape"))
    if sample is not None:
        digest.update(f"\0sample {sample}".encode())
    return (Path(platformdirs.user_state_dir("bulkpin")) / "verifications"
            / f"verify-{digest.hexdigest()[:20]}.sqlite")
