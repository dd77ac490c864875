"""Fixed-size chunker: turns bytes fed in any split into chunks of one size.

Only the bytes of one partial chunk are ever held. When a feed is aligned with
the chunk boundary (the common case: the reader uses a multiple of the chunk
size), chunks are views into the caller's buffer and nothing is copied.
"""

from __future__ import annotations

from collections.abc import Iterator


class FixedSizeChunker:
    """Split a byte stream into ``size``-byte chunks, the last one possibly short.

    Chunks yielded by :meth:`feed` and :meth:`finish` are memoryviews that stay
    valid only until the next call: consume each before asking for more.
    """

    __slots__ = ("_buf", "_emitted", "size")

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("chunk size must be positive")
        self.size = size
        self._buf = bytearray()
        self._emitted = False

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[memoryview]:
        """Yield every chunk that ``data`` completes."""
        view = memoryview(data).cast("B")
        size = self.size
        if self._buf:
            need = size - len(self._buf)
            if len(view) < need:
                self._buf += view
                return
            self._buf += view[:need]
            view = view[need:]
            self._emitted = True
            yield memoryview(self._buf)
            self._buf = bytearray()
        end = len(view) - len(view) % size
        for start in range(0, end, size):
            self._emitted = True
            yield view[start : start + size]
        if end < len(view):
            self._buf += view[end:]

    @property
    def buffered(self) -> int:
        """Bytes of the partial chunk held, waiting for more."""
        return len(self._buf)

    def skip(self) -> None:
        """Note that whole chunks went past this chunker (hashed elsewhere)."""
        if self._buf:
            raise RuntimeError("cannot skip chunks while a partial chunk is buffered")
        self._emitted = True

    def finish(self) -> Iterator[memoryview]:
        """Yield the trailing partial chunk; an empty stream yields one empty chunk.

        kubo and js-ipfs-unixfs both represent an empty file by one empty leaf.
        """
        if self._buf or not self._emitted:
            self._emitted = True
            yield memoryview(self._buf)
            self._buf = bytearray()
