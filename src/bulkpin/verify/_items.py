"""What ``bulkpin verify`` checks, read from a push journal, a manifest or a CID list.

Each input streams :class:`VerifyItem` (a CID, a name, the size expected when
the input knows it) in bounded memory; none builds the whole list. A push
journal also gives each file's identity, so the run can tell a file whose
content on disk is no longer what was pushed (:mod:`._disk`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio.lowlevel

from ..fs import FileIdentity
from ..journal import Journal
from ..manifests.rows import read_rows
from ..sources import BadLine, CidListSource, InvalidCid, normalise_cid

__all__ = ["CidListInput", "JournalInput", "ManifestInput", "VerifyInput", "VerifyItem"]

#: Rows read between two yields to the event loop (the readers are synchronous).
_PAGE = 500


@dataclass(frozen=True, slots=True)
class VerifyItem:
    """One CID to prove retrievable."""

    cid: str
    #: What the input calls it: a file's path, a manifest's path, ``cids.txt:12``.
    name: str
    #: The size its root must state (None: the input does not say).
    size: int | None = None
    #: A pushed file's path and identity when it was pushed (journal inputs only).
    path: bytes | None = None
    identity: FileIdentity | None = None


class VerifyInput(Protocol):
    """A stream of items; ``bad`` is told of entries that are no CID."""

    @property
    def label(self) -> str:
        """The input, for messages and the default journal's key."""
        ...

    def items(self, bad: Callable[[BadLine], None]) -> AsyncGenerator[VerifyItem, None]:
        """Every item, once per ``async for``."""
        ...


class JournalInput:
    """The files of a push journal that have a CID the service was given."""

    def __init__(self, path: Path, profile_name: str) -> None:
        self.path = path
        self.profile_name = profile_name

    @property
    def label(self) -> str:
        return f"journal:{os.path.abspath(self.path)}"

    async def items(self, bad: Callable[[BadLine], None]) -> AsyncGenerator[VerifyItem, None]:
        # Read-only and unlocked: a push may be writing it (WAL shows its last commit).
        with Journal(self.path, profile_name=self.profile_name, read_only=True) as journal:
            for n, record in enumerate(journal.in_state("uploaded", "pinned")):
                if n % _PAGE == 0:
                    await anyio.lowlevel.checkpoint()
                if record.cid is None:
                    continue
                yield VerifyItem(record.cid, os.fsdecode(record.display), record.size,
                                 record.path, record.identity)


class ManifestInput:
    """The file rows of a push manifest (JSONL or CSV) that have a CID."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def label(self) -> str:
        return f"manifest:{os.path.abspath(self.path)}"

    async def items(self, bad: Callable[[BadLine], None]) -> AsyncGenerator[VerifyItem, None]:
        for number, row in read_rows(self.path):
            if number % _PAGE == 0:
                await anyio.lowlevel.checkpoint()
            # Root rows name directories push computed locally and never sent.
            if row.get("kind") != "file" or not row.get("cid"):
                continue
            try:
                cid = normalise_cid(str(row["cid"]))
            except InvalidCid as exc:
                bad(BadLine(str(self.path), number, str(row["cid"]), str(exc)))
                continue
            yield VerifyItem(cid, str(row["path"]), row.get("size"))


class CidListInput:
    """A CID list, one CID per line (an optional name after it), or stdin for ``-``."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._source = CidListSource(spec)

    @property
    def label(self) -> str:
        if self.spec.strip() == "-":
            return "stdin"
        return f"cids:{os.path.abspath(os.path.expanduser(self.spec))}"

    async def items(self, bad: Callable[[BadLine], None]) -> AsyncGenerator[VerifyItem, None]:
        async for entry in self._source:
            if isinstance(entry, BadLine):
                bad(entry)
            else:
                yield VerifyItem(entry.cid, entry.name or entry.origin)
