"""One set of flags (issue 26 item 7): -q, -v, -n, --json and --log-file mean the same on
every command that can take them, and each does what it says there.

Before, ``check -q``, ``cid -q``, ``ls -v`` and ``pin -n`` were refused, and ``ls``
ended 1, not 3, when the Cloud could not be reached.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import click
import pytest

from bulkpin.cli import cli
from bulkpin.unixfs import hash_bytes
from tests.support.cli import bulkpin as _bulkpin
from tests.support.push import run_push
from tests.support.service import ServiceProcess

#: The commands that talk about items, and the flags each must take, with one meaning.
MOVING = ("push", "pin")
TALKING = ("push", "pin", "check", "ls", "jobs", "cid", "status", "verify")


def _flags(name: str) -> dict[str, set[str]]:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return {p.name: set(p.opts) for p in command.params if p.name is not None}


@pytest.mark.parametrize("name", TALKING)
def test_every_command_takes_the_same_loudness_flags(name: str) -> None:
    flags = _flags(name)
    assert flags["verbose"] == {"-v", "--verbose"}
    assert flags["quiet"] == {"-q", "--quiet"}
    assert flags["log_file"] == {"--log-file"}
    assert flags["as_json"] == {"--json"}


@pytest.mark.parametrize("name", MOVING)
def test_every_moving_command_has_a_dry_run_as_n(name: str) -> None:
    assert _flags(name)["dry_run"] == {"-n", "--dry-run"}


def test_cid_q_prints_only_cids_as_ipfs_add_q(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"alpha")
    (tmp_path / "b").write_bytes(b"beta")
    proc = _bulkpin("cid", "-q", tmp_path / "a", tmp_path / "b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [hash_bytes(b"alpha").cid, hash_bytes(b"beta").cid]


def test_ls_jobs_and_check_in_their_quiet_forms(service: ServiceProcess, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a").write_bytes(b"on the account")
    assert run_push(service, tree).returncode == 0
    (tree / "b").write_bytes(b"not yet")
    profile = service.profile_path
    listed = _bulkpin("ls", "-q", "--profile", profile)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [hash_bytes(b"on the account").cid]
    jobs = _bulkpin("jobs", "-q", "--profile", profile)
    assert len(jobs.stdout.split()) == 1
    checked = _bulkpin("check", "-q", "--profile", profile, tree)
    assert checked.returncode == 1
    assert checked.stdout == ""  # no line per file
    assert checked.stderr.strip().startswith("on the account 1, missing 1")
    loud = _bulkpin("check", "--profile", profile, tree, "--json")
    assert json.loads(loud.stdout.splitlines()[-1])["counts"]["missing"] == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ls_exits_3_when_the_cloud_cannot_be_reached(
    service: ServiceProcess, tmp_path: Path
) -> None:
    """As push and check do: 3 means "try again later", not "some items failed"."""
    profile = tmp_path / "gone.toml"
    profile.write_text("\n".join(
        f'cloud_url = "http://127.0.0.1:{_closed_port()}"' if line.startswith("cloud_url")
        else line for line in service.profile_path.read_text().splitlines()))
    profile.chmod(0o600)
    proc = _bulkpin("ls", "--profile", profile)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr


def test_pin_n_requests_nothing(service: ServiceProcess, tmp_path: Path) -> None:
    cid = hash_bytes(b"a dry pin").cid
    proc = _bulkpin("pin", "-n", cid, "--journal", tmp_path / "j.sqlite")
    assert proc.returncode == 0, proc.stderr
    assert service.stats()["requests"].get("pinByHash", {}) == {}
