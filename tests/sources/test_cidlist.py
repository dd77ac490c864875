"""CID lists from a file and from stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bulkpin.sources import BadLine, CidListSource, PinItem, SourceEntry, SourceError

from .cids import v0, v1

pytestmark = pytest.mark.anyio


async def entries(source: CidListSource) -> list[SourceEntry]:
    return [entry async for entry in source]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_cids_names_comments_blank_lines_and_bad_lines(tmp_path: Path) -> None:
    a, b, c = v0("a"), v1("b"), v1("c")
    text = "\n".join([
        "# exported from the old service",      # 1
        a,                                       # 2
        "",                                      # 3
        f"{b}   holiday photos/2019 beach.jpg  ",  # 4: a name with spaces, trimmed
        "not-a-cid some name",                   # 5
        "   # an indented comment",              # 6
        f"/ipfs/{c}\tname # with a hash",        # 7: prefix stripped, '#' kept in the name
        f"/ipfs/{a}/sub/file.txt",               # 8: a path inside a CID
        "   ",                                   # 9
        f"{v0('d')[:-2]}",                       # 10: truncated
    ]) + "\n"
    path = write(tmp_path / "cids.txt", text.encode())
    got = await entries(CidListSource(path))
    assert got == [
        PinItem(a, None, {}, f"{path}:2"),
        PinItem(b, "holiday photos/2019 beach.jpg", {}, f"{path}:4"),
        BadLine(str(path), 5, "not-a-cid some name", "not a CID: 'not-a-cid'"),
        PinItem(c, "name # with a hash", {}, f"{path}:7"),
        BadLine(str(path), 8, f"/ipfs/{a}/sub/file.txt",
                "a path inside a CID: pin the CID of what it names, not its root"),
        BadLine(str(path), 10, v0("d")[:-2], f"not a CID: {v0('d')[:-2]!r}"),
    ]


async def test_crlf_bom_and_a_last_line_without_newline(tmp_path: Path) -> None:
    a, b = v0("a"), v1("b")
    data = b"\xef\xbb\xbf" + f"{a} first\r\n\r\n# c\r\n{b}".encode()
    got = await entries(CidListSource(write(tmp_path / "win.txt", data)))
    assert [(e.cid, e.name, e.origin.rsplit(":", 1)[1]) for e in got if isinstance(e, PinItem)] \
        == [(a, "first", "1"), (b, None, "4")]
    assert len(got) == 2


async def test_cidv1_in_other_bases_is_normalised(tmp_path: Path) -> None:
    from multiformats import CID  # noqa: PLC0415 - only this test needs it

    b = v1("b")
    other = [str(CID.decode(b).encode(base)) for base in ("base58btc", "base36", "base32upper")]
    got = await entries(CidListSource(write(tmp_path / "x.txt", "\n".join(other).encode())))
    # Three spellings of one CID: listed once, in the form kubo prints.
    assert got == [PinItem(b, None, {}, f"{tmp_path / 'x.txt'}:1")]


async def test_duplicates_are_yielded_once_first_line_wins(tmp_path: Path) -> None:
    a, b = v0("a"), v1("b")
    text = f"{a} one\n{b}\n{a} two\nipfs://{b}\n{a}\n"
    path = write(tmp_path / "dup.txt", text.encode())
    got = await entries(CidListSource(path))
    assert got == [PinItem(a, "one", {}, f"{path}:1"), PinItem(b, None, {}, f"{path}:2")]
    # A caller that deduplicates through its journal can have every line.
    every = await entries(CidListSource(path, dedupe=False))
    assert [e.cid for e in every if isinstance(e, PinItem)] == [a, b, a, b, a]


async def test_invalid_utf8_and_overlong_lines_are_bad_lines_and_numbering_holds(
    tmp_path: Path,
) -> None:
    a, b, c = v0("a"), v1("b"), v1("c")
    data = (f"{a}\n".encode() + b"\xff\xfe garbage\n" + b"x" * 500 + b"\n"
            + f"{b}\n".encode() + b"y" * 300 + f"\n{c}".encode())
    path = write(tmp_path / "bad.txt", data)
    got = await entries(CidListSource(path, max_line_bytes=120))
    assert [(type(e).__name__, e.line if isinstance(e, BadLine) else e.origin) for e in got] == [
        ("PinItem", f"{path}:1"),
        ("BadLine", 2),
        ("BadLine", 3),
        ("PinItem", f"{path}:4"),
        ("BadLine", 5),
        ("PinItem", f"{path}:6"),
    ]
    bad = [e for e in got if isinstance(e, BadLine)]
    assert bad[0].reason == "not UTF-8 text"
    assert bad[1].reason == bad[2].reason == "longer than 120 bytes"


async def test_a_long_list_across_many_read_blocks(tmp_path: Path) -> None:
    # Well over one 64 KiB read block, so lines straddle block boundaries.
    cids = [v1(f"n{i}") for i in range(3000)]
    lines = [f"{cid} file number {i}" if i % 7 else "# comment" for i, cid in enumerate(cids)]
    path = write(tmp_path / "long.txt", ("\r\n".join(lines) + "\r\n").encode())
    assert path.stat().st_size > 3 * 64 * 1024
    got = await entries(CidListSource(path))
    expected = [
        PinItem(cid, f"file number {i}", {}, f"{path}:{i + 1}")
        for i, cid in enumerate(cids) if i % 7
    ]
    assert got == expected


async def test_stdin_given_as_a_stream() -> None:
    a = v0("a")
    source = CidListSource("-", stdin=io.BytesIO(f"{a} from stdin\nnope\n".encode()))
    assert source.label == "stdin"
    assert await entries(source) == [
        PinItem(a, "from stdin", {}, "stdin:1"),
        BadLine("stdin", 2, "nope", "not a CID: 'nope'"),
    ]


def test_real_stdin_through_a_pipe() -> None:
    """The process's own stdin, fed by a pipe, as ``bulkpin pin --from -`` will read it."""
    a, b = v0("a"), v1("b")
    script = (
        "import anyio, json\n"
        "from bulkpin.sources import open_source, PinItem\n"
        "async def main():\n"
        "    source = open_source('-', token_env=None, token_file=None)\n"
        "    async for e in source:\n"
        "        print(json.dumps([type(e).__name__, getattr(e, 'cid', None),\n"
        "                          getattr(e, 'line', None)]), flush=True)\n"
        "anyio.run(main)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=f"{a}\r\n\r\nbad line\r\n{b} b name\r\n{a}\r\n".encode(),
        capture_output=True, timeout=60, check=True,
    )
    rows = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert rows == [["PinItem", a, None], ["BadLine", None, 3], ["PinItem", b, None]]


async def test_a_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read the CID list"):
        await entries(CidListSource(tmp_path / "gone.txt"))


async def test_each_listing_reads_the_file_afresh(tmp_path: Path) -> None:
    path = write(tmp_path / "grow.txt", f"{v0('a')}\n".encode())
    source = CidListSource(path)
    assert len(await entries(source)) == 1
    path.write_bytes(f"{v0('a')}\n{v1('b')}\n".encode())
    assert [e.cid for e in await entries(source) if isinstance(e, PinItem)] == [v0("a"), v1("b")]
