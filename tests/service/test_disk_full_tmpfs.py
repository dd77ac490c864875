"""A real full disk under a real ``bulkpin serve`` (issue 25, item 6).

The data dir is a small tmpfs, filled by uploads until nothing fits: every
failed ``pinFile`` must be 507 saying so (95 of 239 were 500 when a failed
COMMIT was followed by a ROLLBACK of a transaction SQLite had already ended),
and the job worker must say so in one line, not a traceback per pass.
Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped, and
``test_disk_full.py`` covers the blob writes with an injected ENOSPC.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess, wait_for
from tests.support.small_disk import small_tmpfs
from tests.unixfs.content import content

from .helpers import Account, get, multipart, request, upload_parts

KiB = 1024
_NO_SPACE = "the service has no space left to store this upload; it was not pinned"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "2m") as mount:
        yield mount


def test_every_upload_failing_on_a_full_disk_is_507(small_disk: Path, tmp_path: Path) -> None:
    # The log outside the full disk, or what it would say is lost too.
    # Jobs take a while, so some are still due once the disk is full.
    svc = ServiceProcess(small_disk / "data", "--job-delay", "2",
                         log_path=tmp_path / "serve.log")
    # Room held back from the uploads, given back at the end.
    (small_disk / "reserve").write_bytes(bytes(512 * KiB))
    with svc.start():
        account = Account.load(svc.profile_path)
        token = get(svc.cloud_url + "/oauth/accessToken", account).json()["Data"]

        def upload(i: int) -> tuple[int, str]:
            # Sizes spread from 100 B to 24 KiB, several at once as a push sends
            # them: so that some blobs still fit where their commit does not.
            data = content(f"fill {i}", 100 + (i * 997) % (24 * KiB))
            body, ctype = multipart(upload_parts(data, account))
            reply = request("POST", svc.endpoint_urls[0] + "/pinning/pinFile",
                            headers={"UserAccessToken": token, "Content-Type": ctype}, body=body)
            return reply.status, "" if reply.status == 200 else reply.json()["Message"]

        with ThreadPoolExecutor(8) as pool:
            answers = collections.Counter(pool.map(upload, range(239)))
        assert answers[(507, _NO_SPACE)] > 0, answers  # the disk did fill
        assert set(answers) <= {(200, ""), (507, _NO_SPACE)}, answers
        # Not a byte left: the worker's next pass cannot commit either.
        _fill(small_disk / "filler")
        wait_for(lambda: "job worker" in svc.stderr_text())
        time.sleep(3)  # a few more passes (one a second): each would log again
        log = svc.stderr_text()
        assert "Traceback" not in log, log[-3000:]
        assert log.count("job worker: no space left") == 1, log[-3000:]
        # Room again: the worker says so, and the jobs of the pinned uploads finish.
        (small_disk / "filler").unlink()
        (small_disk / "reserve").unlink()
        wait_for(lambda: "job worker: there is room again" in svc.stderr_text())
        wait_for(lambda: svc.stats()["jobs"]["pinned"] == answers[(200, "")])
    assert "Traceback" not in svc.stderr_text()


def _fill(path: Path) -> None:
    """Write ``path`` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError, match="No space left"):  # noqa: PT012 - ends by raising
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
