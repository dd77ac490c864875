"""Bad input, the filesystem (issue 7, item 5): trees nobody expected, each case a test.

Most cases live together in one "zoo" tree, pushed once as a user would
(``bulkpin push``) and once with ``--follow-symlinks``; each test reads its own
row of the manifest and the run's output. Files that vanish or change between
the walk and the read are staged through the library's ``file_list`` (the
walk has ``lstat``-ed a file when the generator is asked for the next one,
and nothing is read before the list ends), so the timing is exact.

Tests run as root here: permission bits do not stop root, so the
permission cases drop the capabilities that let root ignore them
(``setpriv``), and still say what happens to a root that keeps them.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import FileEvent, PushOptions, PushSummary, push
from bulkpin.testing.proxy import ChaosProxy, Fault
from bulkpin.unixfs import hash_bytes
from tests.support.service import ServiceProcess
from tests.unixfs.content import content

from .helpers import (
    MiB,
    SideBySide,
    file_rows,
    flat,
    integrity,
    jobs_of,
    pins_of,
    push_cmd,
    push_env,
    run,
)

EMPTY_CID = hash_bytes(b"").cid


# -- the zoo --------------------------------------------------------------------------------


def _put(root: Path, rel: str | bytes, data: bytes) -> None:
    path = os.path.join(os.fsencode(root), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_zoo(base: Path) -> Path:
    """A tree of awkward entries next to a few plain files."""
    zoo = base / "zoo"
    _put(zoo, "regular.txt", b"regular")
    _put(base, "outside/secret.txt", b"a file outside the tree")
    os.mkfifo(zoo / "fifo")
    (zoo / "link-in").symlink_to("regular.txt")
    (zoo / "link-out").symlink_to(base / "outside" / "secret.txt")
    (zoo / "loop").mkdir()
    (zoo / "loop" / "back").symlink_to("..")
    (zoo / "self").symlink_to("self")
    (zoo / "dangling").symlink_to("nowhere")
    _put(zoo, b"caf\xe9-latin1.bin", b"a name that is not UTF-8")
    _put(zoo, "n" * 255, b"a 255-byte ASCII name")
    _put(zoo, "\u00e9" * 127 + "x", b"a 255-byte UTF-8 name")
    _put(zoo, "/".join(["d"] * 60) + "/deep.txt", b"sixty directories down")
    for i in range(5):
        _put(zoo, f"empties/empty{i}", b"")
    (zoo / "empty-dir" / "inner").mkdir(parents=True)
    _put(zoo, "hard-a", b"two names, one inode")
    os.link(zoo / "hard-a", zoo / "hard-b")
    _put(zoo, "new\nline\ttab \"quote\".txt", b"control characters in the name")
    _put(zoo, ".hidden", b"a dot-file")
    _put(zoo, "same-1.txt", b"the same bytes")
    _put(zoo, "sub/same-2.txt", b"the same bytes")
    # Deeper than PATH_MAX: only reachable through directory file descriptors.
    fd = os.open(zoo, os.O_RDONLY)
    for _ in range(18):
        os.mkdir("L" * 250, dir_fd=fd)
        inner = os.open("L" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    leaf = os.open("far.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(leaf, b"past PATH_MAX")
    os.close(leaf)
    os.close(fd)
    return zoo


@dataclass
class ZooRun:
    """One push of the zoo."""

    proc: subprocess.CompletedProcess[str]
    rows: dict[bytes, dict[str, Any]]
    profile: Path
    journal: Path

    def row(self, name: str | bytes) -> dict[str, Any]:
        return self.rows[b"zoo/" + os.fsencode(name)]


BG = SideBySide(workers=5)


@pytest.fixture(scope="module", autouse=True)
def background(shared: ServiceProcess,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Any]]]:
    """The push runs of this module that only wait, started together at the module's
    start; the tests below look at their results."""
    with BG.running(shared, tmp_path_factory) as futures:
        yield futures


def _push_zoo(profile: Path, base: Path, *extra: str) -> ZooRun:
    root = make_zoo(base)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "socket"))
        journal, out = base / "journal.sqlite", base / "manifest.jsonl"
        proc = run("--profile", profile, root, "--journal", journal, "--manifest", out, *extra)
    return ZooRun(proc, file_rows(out), profile, journal)


@BG.case("zoo")
def _zoo_plain(service: ServiceProcess, profile: Path, tmp_path: Path) -> ZooRun:
    return _push_zoo(profile, tmp_path)


@BG.case("zoo --follow-symlinks")
def _zoo_followed(service: ServiceProcess, profile: Path, tmp_path: Path) -> ZooRun:
    return _push_zoo(profile, tmp_path, "--follow-symlinks")


@pytest.fixture
def plain(background: dict[str, Future[Any]]) -> ZooRun:
    """The zoo pushed with the defaults."""
    result: ZooRun = background["zoo"].result()
    return result


@pytest.fixture
def followed(background: dict[str, Future[Any]]) -> ZooRun:
    """The zoo pushed with --follow-symlinks."""
    result: ZooRun = background["zoo --follow-symlinks"].result()
    return result


def _pinned(row: dict[str, Any], data: bytes) -> None:
    assert row["status"] == "pinned", row
    assert row["cid"] == hash_bytes(data).cid


def test_fifo_is_skipped_and_never_opened(plain: ZooRun) -> None:
    # Opening a FIFO for reading would wait for a writer for ever: the run ended.
    row = plain.row("fifo")
    assert row["status"] == "skipped"
    assert row["error"] == "not a regular file (FIFO, socket or device); never opened"


def test_unix_socket_is_skipped_and_never_opened(plain: ZooRun) -> None:
    assert plain.row("socket")["status"] == "skipped"
    assert "never opened" in plain.row("socket")["error"]


def test_symlink_inside_the_tree_is_not_followed_by_default(plain: ZooRun) -> None:
    row = plain.row("link-in")
    assert (row["status"], row["cid"]) == ("skipped", None)
    assert row["error"] == "symlink; not followed (use --follow-symlinks)"


def test_symlink_out_of_the_tree_is_not_followed_by_default(
    plain: ZooRun, shared: ServiceProcess
) -> None:
    assert plain.row("link-out")["status"] == "skipped"
    outside = hash_bytes(b"a file outside the tree").cid
    assert outside not in {p["PinHash"] for p in pins_of(shared, plain.profile)}


def test_symlink_loop_is_not_walked_by_default(plain: ZooRun) -> None:
    assert plain.row("loop/back")["status"] == "skipped"
    assert plain.row("self")["status"] == "skipped"


def test_dangling_symlink_is_skipped_by_default(plain: ZooRun) -> None:
    assert plain.row("dangling")["status"] == "skipped"


def test_non_utf8_name_is_pinned_and_its_bytes_kept(plain: ZooRun) -> None:
    row = plain.row(b"caf\xe9-latin1.bin")
    _pinned(row, b"a name that is not UTF-8")
    assert os.fsencode(row["path"]) == b"zoo/caf\xe9-latin1.bin"


def test_255_byte_ascii_name_is_pinned(plain: ZooRun) -> None:
    _pinned(plain.row("n" * 255), b"a 255-byte ASCII name")


def test_255_byte_utf8_name_is_pinned(plain: ZooRun) -> None:
    _pinned(plain.row("\u00e9" * 127 + "x"), b"a 255-byte UTF-8 name")


def test_sixty_directories_deep_is_pinned(plain: ZooRun) -> None:
    _pinned(plain.row("/".join(["d"] * 60) + "/deep.txt"), b"sixty directories down")


def test_deeper_than_path_max_is_reported_and_the_rest_goes_on(plain: ZooRun) -> None:
    failed = [(p, r) for p, r in plain.rows.items() if p.startswith(b"zoo/LLL")]
    assert len(failed) == 1
    path, row = failed[0]
    assert row["status"] == "failed"
    assert row["error"] == "File name too long"
    assert len(path) > 4096
    assert plain.proc.returncode == 1  # that one directory is the only failure
    assert [p for p, r in plain.rows.items() if r["status"] == "failed"] == [path]
    assert "File name too long" in plain.proc.stderr


def test_empty_files_are_pinned_with_one_upload(plain: ZooRun, shared: ServiceProcess) -> None:
    for i in range(5):
        assert plain.row(f"empties/empty{i}")["cid"] == EMPTY_CID
        assert plain.row(f"empties/empty{i}")["status"] == "pinned"
    jobs = [j for j in jobs_of(shared, plain.profile) if j["PinHash"] == EMPTY_CID]
    assert len(jobs) == 1


def test_empty_directory_needs_nothing(plain: ZooRun) -> None:
    assert not [p for p in plain.rows if p.startswith(b"zoo/empty-dir")]


def test_hard_links_are_both_pinned_with_one_upload(
    plain: ZooRun, shared: ServiceProcess
) -> None:
    _pinned(plain.row("hard-a"), b"two names, one inode")
    _pinned(plain.row("hard-b"), b"two names, one inode")
    cid = hash_bytes(b"two names, one inode").cid
    assert len([j for j in jobs_of(shared, plain.profile) if j["PinHash"] == cid]) == 1


def test_duplicate_contents_are_uploaded_once(plain: ZooRun, shared: ServiceProcess) -> None:
    _pinned(plain.row("same-1.txt"), b"the same bytes")
    _pinned(plain.row("sub/same-2.txt"), b"the same bytes")
    cid = hash_bytes(b"the same bytes").cid
    assert len([j for j in jobs_of(shared, plain.profile) if j["PinHash"] == cid]) == 1


def test_control_characters_in_a_name_survive_the_manifest(plain: ZooRun) -> None:
    _pinned(plain.row("new\nline\ttab \"quote\".txt"), b"control characters in the name")


def test_dot_files_are_pinned_by_default(plain: ZooRun) -> None:
    # A bulk archiver must not drop .env or .DS_Store silently (issue 14).
    _pinned(plain.rows[b"zoo/.hidden"], b"a dot-file")


def test_the_plain_run_ends_with_a_sound_journal(plain: ZooRun) -> None:
    assert integrity(plain.journal) == "ok"
    assert "journal:" in plain.proc.stderr


def test_followed_symlink_inside_the_tree_is_pinned(followed: ZooRun) -> None:
    _pinned(followed.row("link-in"), b"regular")


def test_followed_symlink_out_of_the_tree_is_pinned(followed: ZooRun) -> None:
    _pinned(followed.row("link-out"), b"a file outside the tree")


def test_followed_directory_loop_is_reported_not_walked_for_ever(followed: ZooRun) -> None:
    row = followed.row("loop/back")
    assert (row["status"], row["error"]) == ("failed", "symlink loop; not followed")
    assert followed.row("regular.txt")["status"] == "pinned"


def test_followed_self_loop_is_reported(followed: ZooRun) -> None:
    row = followed.row("self")
    assert (row["status"], row["error"]) == ("failed", "Too many levels of symbolic links")


def test_followed_dangling_symlink_is_reported(followed: ZooRun) -> None:
    row = followed.row("dangling")
    assert (row["status"], row["error"]) == ("failed", "No such file or directory")
    assert followed.proc.returncode == 1
    assert "zoo/dangling: No such file or directory" in flat(followed.proc.stderr)


# -- files that change between the walk and the read ------------------------------------------


Change = Callable[[Path], None]


async def _push_listed(profile: Path, tmp_path: Path, files: dict[str, bytes],
                       change: Change, target: str) -> tuple[PushSummary, dict[str, FileEvent]]:
    """Push ``files`` through ``file_list``; ``change(path of target)`` runs after the walk
    has seen every file and before any is read."""
    tree = tmp_path / "listed"
    tree.mkdir()
    for name, data in files.items():
        (tree / name).write_bytes(data)

    def listing() -> Iterator[bytes]:
        for name in files:
            yield os.fsencode(tree / name)
        change(tree / target)

    events: dict[str, FileEvent] = {}

    def on_event(event: object) -> None:
        if isinstance(event, FileEvent):
            events[os.path.basename(event.path)] = event

    options = PushOptions(journal=tmp_path / "j.sqlite", manifest=tmp_path / "m.jsonl",
                          poll_interval=0.05)
    credentials = load_credentials(profile=profile, env={})
    async with DecooClient(credentials) as client:
        summary = await push([], options, client=client, on_event=on_event,
                             file_list=listing())
    return summary, events


def _rewrite(data: bytes) -> Change:
    def change(path: Path) -> None:
        path.write_bytes(data)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    return change


FILES = {"a.bin": b"first file", "b.bin": content("b", 300_000), "c.bin": b"third file"}
BIG = {"a.bin": b"first file", "b.bin": content("big-b", 3 * MiB), "c.bin": b"third file"}
NEW_B, NEW_BIG = content("b2", 300_000), content("big-b2", 3 * MiB)


@pytest.mark.parametrize(
    ("case", "files", "change", "expected"),
    [
        ("rewritten, same size", FILES, _rewrite(NEW_B), NEW_B),
        ("grown", FILES, _rewrite(FILES["b.bin"] + b"more"), FILES["b.bin"] + b"more"),
        ("truncated to nothing", FILES, _rewrite(b""), b""),
        ("large file rewritten", BIG, _rewrite(NEW_BIG), NEW_BIG),
    ],
)
@pytest.mark.anyio
async def test_file_changed_between_walk_and_read_is_pinned_as_it_now_is(
    new_account: Callable[[], Path], shared: ServiceProcess, tmp_path: Path, case: str,
    files: dict[str, bytes], change: Change, expected: bytes,
) -> None:
    profile = new_account()
    summary, events = await _push_listed(profile, tmp_path, files, change, "b.bin")
    assert summary.exit_status == 0, summary.reason
    assert events["b.bin"].cid == hash_bytes(expected).cid
    pinned = {p["PinHash"] for p in pins_of(shared, profile)}
    assert hash_bytes(expected).cid in pinned
    assert hash_bytes(files["b.bin"]).cid not in pinned  # the old bytes: never pinned
    assert summary.counts["pinned"] == 3


def _vanish(path: Path) -> None:
    path.unlink()


def _to_symlink(path: Path) -> None:
    outside = path.parent.parent / "outside.txt"
    outside.write_bytes(b"not in the list")
    path.unlink()
    path.symlink_to(outside)


def _to_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _to_dir(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize(
    ("case", "change", "reason"),
    [
        # Deleted: not a failure of the tree (issue 12), reported once as gone.
        ("vanished", _vanish, "deleted before it was pinned"),
        ("replaced by a symlink", _to_symlink, "Too many levels of symbolic links"),
        ("replaced by a FIFO", _to_fifo, "changed while being read"),
        ("replaced by a directory", _to_dir, "changed while being read"),
    ],
)
@pytest.mark.anyio
async def test_file_gone_between_walk_and_read_is_reported_the_rest_pinned(
    new_account: Callable[[], Path], shared: ServiceProcess, tmp_path: Path, case: str,
    change: Change, reason: str,
) -> None:
    profile = new_account()
    summary, events = await _push_listed(profile, tmp_path, FILES, change, "b.bin")
    assert reason in str(events["b.bin"].error)
    if case == "vanished":
        assert (summary.exit_status, events["b.bin"].outcome) == (0, "gone")
        assert summary.failures == []
        assert summary.counts["gone"] == 1
    else:
        assert summary.exit_status == 1
        assert events["b.bin"].outcome == "failed"
        assert summary.failures == [(str(tmp_path / "listed" / "b.bin"), events["b.bin"].error)]
    assert events["a.bin"].outcome == events["c.bin"].outcome == "uploaded"
    pinned = {p["PinHash"] for p in pins_of(shared, profile)}
    assert pinned == {hash_bytes(FILES["a.bin"]).cid, hash_bytes(FILES["c.bin"]).cid}


@pytest.mark.anyio
async def test_file_changing_while_it_streams_is_pinned_as_it_ends(
    shared: ServiceProcess, new_account: Callable[[], Path], tmp_path: Path
) -> None:
    """Appended to while its body goes out over a slow link: the upload is abandoned
    before its ``cid`` part, the file read again, and pinned with what is on disk."""
    profile = new_account()
    path = tmp_path / "growing.bin"
    # Larger than what the socket buffers can hold (the sender's is at most 4 MiB here),
    # so the client is still reading the file when the proxy has passed on 1 MiB.
    path.write_bytes(content("growing", 16 * MiB))
    with ChaosProxy(shared.endpoint_urls[0], rcvbuf=64 * 1024) as proxy:
        proxy.set_fault(Fault("slow", rate=16 * MiB))

        def append_once_half_sent() -> None:
            while proxy.stats.bytes_up < MiB:
                time.sleep(0.005)
            with path.open("ab") as f:
                f.write(b"appended mid-upload")

        writer = threading.Thread(target=append_once_half_sent, daemon=True)
        writer.start()
        options = PushOptions(journal=tmp_path / "j.sqlite", poll_interval=0.05)
        async with DecooClient(load_credentials(profile=profile, env={}),
                               endpoint=proxy.url) as client:
            summary = await push([str(path)], options, client=client)
        writer.join(10)
    final = path.read_bytes()
    assert final.endswith(b"appended mid-upload")
    assert summary.exit_status == 0, summary.reason
    pins = {p["PinHash"]: int(p["PinSize"]) for p in pins_of(shared, profile)}
    assert pins == {hash_bytes(final).cid: len(final)}
    # The first attempt really was cut off part-way (and stored nothing).
    assert proxy.stats.requests["POST /pinning/pinFile"] == 2


@pytest.mark.anyio
async def test_file_renamed_over_while_it_streams_is_pinned_as_the_path_ends(
    shared: ServiceProcess, new_account: Callable[[], Path], tmp_path: Path
) -> None:
    """Issue 15: another file renamed over the path mid-upload. The descriptor's
    ``fstat`` still describes the old file, so only asking the path tells: the
    upload is abandoned before its ``cid`` part and the new file pinned instead."""
    profile = new_account()
    path = tmp_path / "rename.bin"
    path.write_bytes(content("old", 16 * MiB))
    replacement = tmp_path / "new.bin"
    replacement.write_bytes(content("new", 16 * MiB))
    with ChaosProxy(shared.endpoint_urls[0], rcvbuf=64 * 1024) as proxy:
        proxy.set_fault(Fault("slow", rate=16 * MiB))

        def rename_once_half_sent() -> None:
            while proxy.stats.bytes_up < MiB:
                time.sleep(0.005)
            os.rename(replacement, path)  # mv new.bin rename.bin

        mover = threading.Thread(target=rename_once_half_sent, daemon=True)
        mover.start()
        out = tmp_path / "m.jsonl"
        options = PushOptions(journal=tmp_path / "j.sqlite", poll_interval=0.05, manifest=out)
        async with DecooClient(load_credentials(profile=profile, env={}),
                               endpoint=proxy.url) as client:
            summary = await push([str(path)], options, client=client)
        mover.join(10)
    final = path.read_bytes()
    assert final == content("new", 16 * MiB)
    assert summary.exit_status == 0, summary.reason
    pins = {p["PinHash"] for p in pins_of(shared, profile)}
    assert pins == {hash_bytes(final).cid}  # never the old content under this name
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    file_row = next(r for r in rows if r["kind"] == "file")
    root_row = next(r for r in rows if r["kind"] == "root")
    assert file_row["cid"] == hash_bytes(final).cid
    assert root_row["cid"] == hash_bytes(final).cid  # a lone file is its own root
    assert proxy.stats.requests["POST /pinning/pinFile"] == 2


def test_small_file_renamed_over_during_its_read_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a small file read whole: the path is asked after the read."""
    from bulkpin.fs import ChangedWhileRead, FileIdentity  # noqa: PLC0415
    from bulkpin.push import hashing  # noqa: PLC0415
    from bulkpin.unixfs import DEFAULT_PROFILE  # noqa: PLC0415

    path = tmp_path / "small"
    path.write_bytes(b"old content")
    (tmp_path / "new").write_bytes(b"new content")
    identity = FileIdentity.of(path.stat())
    real_read = os.read

    def read_then_rename(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        if (tmp_path / "new").exists():
            os.rename(tmp_path / "new", path)  # mid-read: the descriptor keeps the old file
        return data

    monkeypatch.setattr(os, "read", read_then_rename)
    with pytest.raises(ChangedWhileRead, match="replaced while being read"):
        hashing.read_checked(os.fsencode(path), identity, DEFAULT_PROFILE)


# -- permissions ----------------------------------------------------------------------------


def _unprivileged() -> list[str]:
    """A command prefix under which root obeys permission bits (empty when not root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("root without setpriv: permission bits cannot be made to apply")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def _run_as(prefix: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *push_cmd(*args)], capture_output=True, text=True,
                          timeout=300, check=False, env=push_env(), stdin=subprocess.DEVNULL)


@contextmanager
def _closed_tree(tmp_path: Path) -> Iterator[Path]:
    tree = tmp_path / "t"
    _put(tree, "ok.txt", b"readable")
    _put(tree, "no-read.txt", b"mode 000")
    _put(tree, "closed/inside.txt", b"in a mode 000 directory")
    (tree / "no-read.txt").chmod(0)
    (tree / "closed").chmod(0)
    try:
        yield tree
    finally:
        (tree / "closed").chmod(0o755)


@BG.case("permission denied")
def _permission_denied(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    prefix = _unprivileged()
    out = tmp_path / "m.jsonl"
    with _closed_tree(tmp_path) as tree:
        proc = _run_as(prefix, "--profile", profile, tree, "--journal", tmp_path / "j.sqlite",
                       "--manifest", out)
    rows = file_rows(out)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert rows[b"t/ok.txt"]["status"] == "pinned"
    assert (rows[b"t/no-read.txt"]["status"], rows[b"t/no-read.txt"]["error"]) == (
        "failed", "Permission denied")
    assert (rows[b"t/closed"]["status"], rows[b"t/closed"]["error"]) == (
        "failed", "Permission denied")
    assert "t/no-read.txt: Permission denied" in flat(proc.stderr)


def test_permission_denied_is_reported_and_the_rest_goes_on(
    background: dict[str, Future[Any]],
) -> None:
    background["permission denied"].result()


@BG.case("root reads mode 000")
def _root_reads(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root reads files whose mode forbids it")
    out = tmp_path / "m.jsonl"
    with _closed_tree(tmp_path) as tree:
        proc = run("--profile", profile, tree, "--journal", tmp_path / "j.sqlite",
                   "--manifest", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {r["status"] for r in file_rows(out).values()} == {"pinned"}


def test_root_that_keeps_its_capabilities_reads_mode_000_files(
    background: dict[str, Future[Any]],
) -> None:
    background["root reads mode 000"].result()


@BG.case("unreadable file")
def _unreadable(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    good = tmp_path / "good.txt"
    good.write_bytes(b"fine")
    listing.write_text(f"/proc/self/mem\n{good}\n")
    out = tmp_path / "m.jsonl"
    proc = run("--profile", profile, "--files-from", listing, "--journal",
               tmp_path / "j.sqlite", "--manifest", out)
    assert proc.returncode == 1
    rows = file_rows(out)
    assert (rows[b"/proc/self/mem"]["status"], rows[b"/proc/self/mem"]["error"]) == (
        "failed", "Input/output error")
    assert rows[os.fsencode(good)]["status"] == "pinned"


def test_file_that_cannot_be_read_is_reported(background: dict[str, Future[Any]]) -> None:
    """/proc/self/mem looks like an empty regular file and fails every read (EIO)."""
    background["unreadable file"].result()


@BG.case("missing path")
def _missing_path(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    # Found before anything starts (issue 14): a usage error naming the path, no
    # journal made, nothing sent.
    out = tmp_path / "m.jsonl"
    proc = run("--profile", profile, tmp_path / "nope", "--journal", tmp_path / "j.sqlite",
               "--manifest", out)
    assert proc.returncode == 2
    assert f"{tmp_path / 'nope'}: no such file or directory" in proc.stderr
    assert not (tmp_path / "j.sqlite").exists()
    assert not out.exists()


def test_missing_path_argument_is_reported(background: dict[str, Future[Any]]) -> None:
    background["missing path"].result()


# -- the journal's own disk -------------------------------------------------------------------


def test_journal_in_a_read_only_directory_is_refused_before_anything_is_sent(
    shared: ServiceProcess, new_account: Callable[[], Path], tmp_path: Path
) -> None:
    prefix = _unprivileged()
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    tree = tmp_path / "t"
    _put(tree, "f", b"f")
    profile = new_account()
    proc = _run_as(prefix, "--profile", profile, tree, "--journal", locked / "j.sqlite")
    assert proc.returncode == 2
    assert f"cannot create the journal at {locked / 'j.sqlite'}: Permission denied" in (
        proc.stderr)
    assert jobs_of(shared, profile) == []


def test_journal_that_is_not_a_database_is_refused(
    new_account: Callable[[], Path], tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    journal.write_bytes(content("not sqlite", 8192))
    tree = tmp_path / "t"
    _put(tree, "f", b"f")
    proc = run("--profile", new_account(), tree, "--journal", journal)
    assert proc.returncode == 2
    assert "file is not a database" in proc.stderr
    assert journal.read_bytes() == content("not sqlite", 8192)  # left as it was


@BG.case("journal disk full")
def _disk_full(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    for i in range(300):
        _put(tree, f"d{i % 7}/f{i}", b"file %d" % i)
    journal, out = tmp_path / "j.sqlite", tmp_path / "m.jsonl"

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200 * 1024, 200 * 1024))

    proc = subprocess.run(push_cmd("--profile", profile, tree, "--journal", journal),
                          capture_output=True, text=True, timeout=300, check=False,
                          env=push_env(), preexec_fn=small_disk)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot commit the journal" in proc.stderr
    assert "run the same command again to resume" in flat(proc.stderr)
    assert "Traceback" not in proc.stderr
    assert integrity(journal) == "ok"
    again = run("--profile", profile, tree, "--journal", journal, "--manifest", out)
    assert again.returncode == 0, again.stderr[-2000:]
    rows = file_rows(out)
    assert len(rows) == 300
    assert {r["status"] for r in rows.values()} == {"pinned"}
    cids = [j["PinHash"] for j in jobs_of(service, profile)]
    assert len(cids) == len(set(cids)) == 300


def test_journal_disk_full_mid_run_stops_cleanly_and_a_later_run_completes(
    background: dict[str, Future[Any]],
) -> None:
    """RLIMIT_FSIZE makes the journal's writes fail part-way, as a full disk does."""
    background["journal disk full"].result()
