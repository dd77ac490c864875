"""The ``throttle`` hook of ``pin_file``: awaited before each piece goes to the socket.

Over real loopback HTTP against ``bulkpin serve``: a bandwidth limit can only
pace the wire if it is paid piece by piece as the body is sent, for streamed
files and files sent from memory alike. No timing: the calls are counted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulkpin.client import FileContent
from bulkpin.client.multipart import THROTTLE_PIECE
from bulkpin.unixfs import hash_bytes
from tests.support.service import ServiceProcess

from .helpers import make_client

pytestmark = pytest.mark.anyio


class Recorder:
    """The throttle and the progress callback, writing one log in call order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    async def throttle(self, n: int) -> None:
        self.log.append(("throttle", n))

    def progress(self, n: int) -> None:
        self.log.append(("progress", n))

    def paid(self) -> list[int]:
        return [n for kind, n in self.log if kind == "throttle"]


def _check_paced(recorder: Recorder, size: int) -> None:
    paid = recorder.paid()
    assert sum(paid) == size
    assert all(0 < n <= THROTTLE_PIECE for n in paid)
    assert len(paid) == -(-size // THROTTLE_PIECE)  # one call per piece, none whole-file
    # Each piece is paid for before it is reported sent: the hook gates the socket.
    assert recorder.log == [e for n in paid for e in (("throttle", n), ("progress", n))]


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "from-memory"])
async def test_throttle_is_awaited_before_each_piece(
    service: ServiceProcess, tmp_path: Path, streamed: bool
) -> None:
    size = 5 * THROTTLE_PIECE + 12_345
    data = os.urandom(size)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    st = path.stat()
    content = None if streamed else FileContent(data, st.st_mtime_ns, st.st_ino)
    recorder = Recorder()
    async with make_client(service) as client:
        result = await client.pin_file(path, on_progress=recorder.progress,
                                       throttle=recorder.throttle, content=content)
    assert result.cid == hash_bytes(data).cid
    _check_paced(recorder, size)


async def test_without_throttle_chunks_go_whole(service: ServiceProcess, tmp_path: Path) -> None:
    # The unthrottled path is unchanged: pieces are the client's read chunks.
    data = os.urandom(3 * THROTTLE_PIECE)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    sent: list[int] = []
    async with make_client(service) as client:
        await client.pin_file(path, on_progress=sent.append)
    assert sent == [len(data)]
