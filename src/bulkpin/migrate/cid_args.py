"""CIDs named on the command line (``bulkpin pin CID...``) as a source."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from ..sources import InvalidCid, PinItem, SourceEntry, normalise_cid

__all__ = ["CidArguments"]


class CidArguments:
    """The CIDs given as arguments, validated and normalised at once.

    A bad one raises :class:`~bulkpin.sources.InvalidCid` (a ``ValueError``)
    naming its position: a usage error, found before anything is sent.
    """

    def __init__(self, cids: Sequence[str]) -> None:
        items: dict[str, PinItem] = {}
        for position, text in enumerate(cids, 1):
            try:
                cid = normalise_cid(text)
            except InvalidCid as exc:
                raise InvalidCid(f"argument {position}: {exc.reason}") from None
            items.setdefault(cid, PinItem(cid, None, {}, f"argument {position}"))
        self._items = list(items.values())

    @property
    def label(self) -> str:
        """``arguments``."""
        return "arguments"

    @property
    def key(self) -> str:
        """What names this set of CIDs for the default journal: the CIDs, sorted."""
        return "arguments\0" + "\0".join(sorted(item.cid for item in self._items))

    def __aiter__(self) -> AsyncGenerator[SourceEntry, None]:
        return self._entries()

    async def _entries(self) -> AsyncGenerator[SourceEntry, None]:
        for item in self._items:
            yield item
