"""The live display of a real ``bulkpin push`` on a pseudo-terminal, 100 columns wide.

With ``--bwlimit`` the large file takes a few seconds to send, so the display
is redrawn several times during its upload: its own bar must show its bytes
moving before it ends, not jump from nothing to done.

The stops (issue 26): Ctrl-C typed on the terminal, as a person does, once
the display shows the phase the test is about (no timing: each key waits for
what the screen says).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tomllib
from pathlib import Path

from tests.support.service import ServiceProcess
from tests.support.terminal import frames, plain, run_on_pty

MiB = 1024 * 1024
BIG = 6 * MiB

#: The large file's own bar: its name, the bar, then "sent/size".
_BIG_BAR = re.compile(r"tree/big\.bin\s+\S+\s+([\d.]+) (B|KiB|MiB)/6\.0 MiB")
_UNITS = {"B": 1, "KiB": 1024, "MiB": MiB}


def make_tree(root: Path) -> None:
    (root / "small").mkdir(parents=True)
    (root / "big.bin").write_bytes(os.urandom(BIG))
    for i in range(5):
        (root / "small" / f"{i}.txt").write_bytes(os.urandom(1000 + i))


#: Ctrl-C, as typed on the terminal.
CTRL_C = b"\x03"
RESUME = "Run the same command again to resume."


def _push_on_pty(profile: Path, tmp_path: Path, *args: str,
                 keys: tuple[tuple[str, bytes], ...] = ()) -> tuple[int, str]:
    env = {**os.environ, "TERM": "xterm-256color", "NO_COLOR": "1"}
    for variable in ("BULKPIN_PROFILE", "COLUMNS", "LINES"):
        env.pop(variable, None)
    cmd = [sys.executable, "-m", "bulkpin", "push", "--profile", str(profile),
           "--journal", str(tmp_path / "j.sqlite"), *args, str(tmp_path / "tree")]
    return run_on_pty(cmd, env=env, columns=100, keys=keys)


def push_on_pty(service: ServiceProcess, tmp_path: Path,
                keys: tuple[tuple[str, bytes], ...] = ()) -> tuple[int, str]:
    """A real push of a small tree, its large file paced to about three seconds."""
    make_tree(tmp_path / "tree")
    return _push_on_pty(service.profile_path, tmp_path, "--bwlimit", "2M/s", keys=keys)


def test_a_large_files_bar_moves_before_it_ends(service: ServiceProcess, tmp_path: Path) -> None:
    status, output = push_on_pty(service, tmp_path)
    assert status == 0, output[-3000:]
    shown = frames(output)
    sent = []
    for frame in shown:
        match = _BIG_BAR.search(frame)
        if match:
            sent.append(float(match.group(1)) * _UNITS[match.group(2)])
    moving = sorted({n for n in sent if 0 < n < BIG})
    # Two frames at least, with different byte counts, both before the file ended.
    assert len(moving) >= 2, "\n----\n".join(shown)
    assert all(len(line) <= 100 for frame in shown for line in frame.splitlines())

    # The last frame, drawn from the final state, agrees with the summary under it.
    last = shown[-1]
    final, table = last[: last.index("bulkpin push")], last[last.index("bulkpin push"):]
    assert re.search(r"files .* 6/6\s*\n", final), final
    assert "pinned 6 " in final, final
    assert "walking" not in final
    assert re.search(r"pinned\s+6\s*\n", table), table
    # Human units only: no raw byte counts beside the readable ones.
    assert not re.search(r"\b\d{4,}\b", final), final


def _after(output: str, marker: str) -> str:
    text = plain(output)
    assert marker in text, text[-3000:]
    return text[text.index(marker):]


def test_the_first_ctrl_c_stops_a_push_with_its_summary(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    # Typed once the large file's bar shows bytes moving: the push is sending.
    status, output = push_on_pty(service, tmp_path,
                                 keys=((r"tree/big\.bin\s+\S+\s+[1-9][\d.]* (KiB|MiB)/", CTRL_C),))
    assert status == 3, plain(output)[-3000:]
    after = _after(output, "Stopping:")
    assert "Press Ctrl-C again to stop at once." in " ".join(after.split())  # wrapped
    # One Ctrl-C was enough: the run drew its summary and said how to go on.
    assert "bulkpin push" in after, after
    assert re.search(r"pinned\s+\d+\s*\n", after), after
    assert RESUME in after
    assert "Traceback" not in output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_ctrl_c_while_the_listing_is_retried_stops_within_the_request(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    """The Cloud is down: a stop cuts the listing's request and its retries short.

    Each failed listing (a request and its own retries, several seconds of
    backoff) is followed by "trying again"; the Ctrl-C is typed just after the
    first, so it lands inside the next request's retries. A stop that waited
    for them would say "trying again" once more before it ended.
    """
    make_tree(tmp_path / "tree")
    # The service's account, its Cloud at a port where nothing listens.
    profile = tmp_path / "down.toml"
    profile.write_text(re.sub(r"(?m)^cloud_url = .*$",
                              f'cloud_url = "http://127.0.0.1:{_closed_port()}"',
                              service.profile_path.read_text()))
    profile.chmod(0o600)
    assert "127.0.0.1:" in tomllib.loads(profile.read_text())["cloud_url"]
    status, output = _push_on_pty(profile, tmp_path, "--patience", "600",
                                  keys=(("listing the account failed, trying again", CTRL_C),))
    assert status == 3, plain(output)[-3000:]
    after = _after(output, "Stopping:")
    assert "trying again" not in after, after
    assert "interrupted while listing the account" in after, after
    assert RESUME in after


LARGE = 24 * MiB


def test_a_ctrl_c_with_large_uploads_in_flight_reports_the_bytes_sent(
    service: ServiceProcess, tmp_path: Path,
) -> None:
    """Uploads that cannot finish in the grace are given up; what they sent is counted.

    Two files of 24 MiB sharing 2 MiB/s cannot end in a 2 s grace: both are
    abandoned, and the summary's "bytes sent" is what crossed the wire, not
    0 B (the bytes of a given-up upload once were taken back).
    """
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(2):
        (tree / f"large-{i}.bin").write_bytes(os.urandom(LARGE))
    bar = r"tree/large-\d\.bin\s+\S+\s+[1-9][\d.]* MiB/24\.0 MiB"
    status, output = _push_on_pty(service.profile_path, tmp_path, "--bwlimit", "2M/s",
                                  "--concurrency", "2", "--grace", "2", keys=((bar, CTRL_C),))
    assert status == 3, plain(output)[-3000:]
    after = _after(output, "Stopping:")
    sent = re.search(r"bytes sent\s+([\d.]+) (B|KiB|MiB)", after)
    assert sent, after
    counted = float(sent.group(1)) * _UNITS[sent.group(2)]
    # At least the MiB the bar showed before the Ctrl-C, and less than the files.
    assert MiB <= counted < 2 * LARGE, after
    assert re.search(r"pinned\s+0\s*\n", after), after
    assert RESUME in after
