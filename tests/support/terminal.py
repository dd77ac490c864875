"""Running a command on a real pseudo-terminal of a fixed size, and reading its frames back.

A live display behaves differently on a terminal (cursor movement, width from
the tty), so tests of it run the real command on a pty rather than faking
``isatty``. :func:`frames` cuts the captured bytes where rich redraws its
live region, so each frame is the display as a person saw it at one instant.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence

__all__ = ["frames", "plain", "run_on_pty"]

#: rich's live region redraw: back to the line start, erase, then up and erase
#: for each further line of the previous frame.
_REDRAW = re.compile(r"\r\x1b\[2K(?:\x1b\[1A\x1b\[2K)*")
#: Any other escape sequence (colours, cursor visibility).
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _own_terminal() -> None:
    """In the child, after its setsid: the pty on fd 0 becomes its controlling terminal.

    So a Ctrl-C typed on the master reaches it as SIGINT from the line
    discipline, as in a shell, not as a signal the test sends.
    """
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_on_pty(cmd: Sequence[str], *, columns: int = 100, rows: int = 30,
               env: dict[str, str] | None = None, timeout: float = 120,
               keys: Sequence[tuple[str, bytes]] = ()) -> tuple[int, str]:
    """Run ``cmd`` with stdin, stdout and stderr on a new pty; its exit status and output.

    ``keys``: ``(pattern, typed)`` in turn; once the output so far, without
    escapes, matches ``pattern`` (a regex) past where the last one did, ``typed``
    is typed on the terminal (``b"\\x03"``: Ctrl-C).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True, start_new_session=True,
                            preexec_fn=_own_terminal)  # noqa: PLW1509 - one call, no threads
    os.close(slave)
    chunks: list[bytes] = []
    waiting = list(keys)
    seen = 0  # where in the plain output the next pattern is looked for
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
                if waiting:
                    text = plain(b"".join(chunks).decode("utf-8", "replace"))
                    found = re.compile(waiting[0][0]).search(text, seen)
                    if found:
                        os.write(master, waiting.pop(0)[1])
                        seen = found.end()
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError(f"{cmd} did not end within {timeout} s")
        status = proc.wait(timeout=30)
    finally:
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


def plain(text: str) -> str:
    """Without escape sequences, with the terminal's CRLF as LF."""
    return _ESCAPE.sub("", text).replace("\r\n", "\n")


def frames(output: str) -> list[str]:
    """The successive frames of a rich live display (and what was printed between them)."""
    return [plain(part).strip("\r\n") for part in _REDRAW.split(output) if part.strip()]
