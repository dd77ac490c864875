"""Bad input, credentials (issue 7, item 5): each case a test with its expected outcome.

Everything wrong with the credentials themselves is a configuration error:
exit status 2, one clear line naming what is wrong and where it came from,
no secret quoted, and nothing lost: the files are left for a run with good
credentials. An access token that expires mid-run is no error at all.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.service import ServiceProcess

from .helpers import (
    KiB,
    MiB,
    SideBySide,
    account,
    assert_complete,
    file_rows,
    flat,
    free_ports,
    jobs_of,
    journal_states,
    make_tree,
    new_accounts,
    run,
    start,
    write_profile,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "t", files=6, largest=8 * KiB, name=tmp_path.name).root


Push = Callable[..., tuple[int, str]]


@pytest.fixture
def good_profile(new_account: Callable[[], Path]) -> Path:
    """A fresh account, the one each broken profile is a broken copy of."""
    return new_account()


@pytest.fixture
def good(shared: ServiceProcess, good_profile: Path) -> dict[str, str]:
    """That account's profile fields."""
    return account(shared, good_profile)


@pytest.fixture
def push_with(shared: ServiceProcess, good_profile: Path, tree: Path, tmp_path: Path) -> Push:
    """``push_with(profile, *extra)``: exit status and flattened stderr; asserts that
    nothing reached the account and that nothing was lost from the journal."""

    def go(profile: Path, *extra: str) -> tuple[int, str]:
        journal = tmp_path / "j.sqlite"
        proc = run("--profile", profile, tree, "--journal", journal, *extra)
        assert jobs_of(shared, good_profile) == []
        if journal.exists():
            assert journal_states(journal).get("failed", 0) == 0
        return proc.returncode, flat(proc.stderr)

    return go


def _no_secret(text: str, fields: dict[str, str]) -> None:
    assert fields["api_key"] not in text
    assert fields["private_key"][:40] not in text


def test_missing_api_key(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    profile = write_profile(tmp_path / "p.toml", {k: v for k, v in good.items() if k != "api_key"})
    status, err = push_with(profile)
    assert status == 2
    assert "missing an API key (api_key or BULKPIN_API_KEY)" in err
    assert f"looked in: arguments, profile {profile}, environment" in err


def test_missing_private_key(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    fields = {k: v for k, v in good.items() if k != "private_key"}
    status, err = push_with(write_profile(tmp_path / "p.toml", fields))
    assert status == 2
    assert "missing a private key (private_key or BULKPIN_PRIVATE_KEY)" in err


def test_profile_that_does_not_exist(push_with: Push, tmp_path: Path) -> None:
    status, err = push_with(tmp_path / "nowhere.toml")
    assert status == 2
    assert f"cannot read profile {tmp_path / 'nowhere.toml'}: No such file or directory" in err


def test_malformed_private_key(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    garbage = base64.b64encode(secrets.token_bytes(700)).decode()
    fields = {**good, "private_key": garbage}
    status, err = push_with(write_profile(tmp_path / "p.toml", fields))
    assert status == 2
    assert f"private key from profile {tmp_path / 'p.toml'}" in err
    assert garbage[:40] not in err
    _no_secret(err, good)


def test_private_key_that_is_not_rsa(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    key_file = tmp_path / "ec.pem"
    key_file.write_text(pem)
    key_file.chmod(0o600)
    status, err = push_with(write_profile(tmp_path / "p.toml", {**good, "private_key": "ec.pem"}))
    assert status == 2
    assert f"private key from file {key_file}" in err
    assert "RSA" in err


def test_private_key_path_that_does_not_exist(
    push_with: Push, good: dict[str, str], tmp_path: Path
) -> None:
    status, err = push_with(write_profile(tmp_path / "p.toml", {**good, "private_key": "k.pem"}))
    assert status == 2
    assert "nor the path of an existing file" in err


def test_malformed_api_key(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    status, err = push_with(write_profile(tmp_path / "p.toml", {**good, "api_key": "not-a-key"}))
    assert status == 2
    assert "the service refused the credentials" in err
    assert "HTTP 401" in err


def test_api_key_of_another_service(
    push_with: Push, good: dict[str, str], tmp_path: Path
) -> None:
    foreign = jwt.encode({"iss": "bulkpin-local", "typ": "api", "sub": "1", "jti": "x"},
                         secrets.token_bytes(32), algorithm="HS256")
    status, err = push_with(write_profile(tmp_path / "p.toml", {**good, "api_key": foreign}))
    assert status == 2
    assert "the service refused the credentials" in err
    assert foreign not in err


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_profile_others_can_read_or_write_is_refused(
    push_with: Push, good: dict[str, str], tmp_path: Path, mode: int
) -> None:
    profile = write_profile(tmp_path / "p.toml", good, mode=mode)
    status, err = push_with(profile)
    assert status == 2
    assert f"profile {profile} is accessible by group or others (mode {mode:04o})" in err
    assert f"chmod 600 {profile}" in err


def test_private_key_file_others_can_read_is_refused(
    push_with: Push, good: dict[str, str], tmp_path: Path
) -> None:
    key = tmp_path / "decoo.key"
    key.write_text(good["private_key"])
    key.chmod(0o644)
    status, err = push_with(write_profile(tmp_path / "p.toml", {**good, "private_key": str(key)}))
    assert status == 2
    assert f"private key file {key} is accessible by group or others" in err
    _no_secret(err, good)


def test_profile_that_is_not_toml(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(f"api_key = {good['api_key']}\n")  # unquoted
    profile.chmod(0o600)
    status, err = push_with(profile)
    assert status == 2
    assert f"profile {profile} is not valid TOML" in err
    _no_secret(err, good)


def test_profile_with_an_unknown_key(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    status, err = push_with(write_profile(tmp_path / "p.toml", {**good, "apikey": "x"}))
    assert status == 2
    assert "unknown keys apikey" in err


def test_cloud_url_that_is_not_a_url(push_with: Push, good: dict[str, str], tmp_path: Path) -> None:
    fields = {**good, "cloud_url": "ftp://127.0.0.1:1"}
    status, err = push_with(write_profile(tmp_path / "p.toml", fields))
    assert status == 2
    assert "must be an http:// or https:// URL" in err


# -- the slow ones, side by side (they wait on the service, a backoff, a token's life) --

SLOW = SideBySide(workers=4)


@pytest.fixture(scope="module", autouse=True)
def slow(shared: ServiceProcess,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[None]]]:
    with SLOW.running(shared, tmp_path_factory) as futures:
        yield futures


@SLOW.case("wrong private key")
def _wrong_key(service: ServiceProcess, mine: Path, tmp_path: Path) -> None:
    (other,) = new_accounts(service, f"other-{tmp_path.name}")
    tree = make_tree(tmp_path / "t", files=6, largest=8 * KiB, name="wrong-key").root
    fields = account(service, mine)
    wrong = write_profile(tmp_path / "wrong.toml",
                          {**fields, "private_key": account(service, other)["private_key"]})
    journal, out = tmp_path / "j.sqlite", tmp_path / "m.jsonl"
    proc = run("--profile", wrong, tree, "--journal", journal, "--concurrency", "2")
    assert proc.returncode == 2
    err = flat(proc.stderr)
    assert "the service refused the upload's signature" in err
    assert "HTTP 403" in err
    _no_secret(err, fields)
    states = journal_states(journal)
    assert states.get("failed", 0) <= 2  # only what was in flight; the rest is untouched
    again = run("--profile", mine, tree, "--journal", journal, "--manifest", out)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {r["status"] for r in file_rows(out).values()} == {"pinned"}


def test_wrong_private_key_stops_the_run_and_the_right_one_completes_it(
    slow: dict[str, Future[None]],
) -> None:
    slow["wrong private key"].result()


@SLOW.case("access token expiring")
def _token_expiring(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    with ServiceProcess(tmp_path / "service", "--job-delay", "0.05", "--token-ttl", "2") as svc:
        tree = make_tree(tmp_path / "slow", files=0, largest=1, big=[64 * KiB] * 30,
                         name="ttl")
        out = tmp_path / "m.jsonl"
        # 30 uploads paced over about 4 s: two token lifetimes.
        proc = run("--profile", svc.profile_path, tree.root, "--journal",
                   tmp_path / "j.sqlite", "--manifest", out, "--bwlimit", "512KiB",
                   "--concurrency", "2")
        assert proc.returncode == 0, proc.stderr[-2000:]
        requests = svc.stats()["requests"]
        assert requests["accessToken"]["200"] >= 2  # the run outlived its first token
        assert set(requests["pinFile"]) <= {"200", "401"}
        assert_complete(svc, tree, out)


def test_access_token_expiring_mid_run_is_renewed(slow: dict[str, Future[None]]) -> None:
    """Tokens that live 2 s, a run that lasts several times that: the client reads the
    lifetime from the token and renews before it runs out (a 401 would renew too)."""
    slow["access token expiring"].result()


@SLOW.case("nothing listens")
def _nothing_listens(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    fields = {**account(service, profile), "cloud_url": f"http://127.0.0.1:{free_ports(1)[0]}"}
    tree = make_tree(tmp_path / "t", files=6, largest=8 * KiB, name="nothing").root
    journal = tmp_path / "j.sqlite"
    proc = run("--profile", write_profile(tmp_path / "p.toml", fields), tree, "--journal",
               journal, "--patience", "1")
    assert proc.returncode == 3
    assert "unreachable for over 1 s" in flat(proc.stderr)
    # Ended before any summary, it still says how to go on.
    assert "Run the same command again to resume." in proc.stderr
    assert journal_states(journal).get("failed", 0) == 0


def test_cloud_where_nothing_listens_ends_after_patience(
    slow: dict[str, Future[None]],
) -> None:
    slow["nothing listens"].result()


@SLOW.case("control")
def _control(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "ok", files=5, largest=KiB, big=[2 * MiB], name="control")
    out = tmp_path / "m.jsonl"
    proc = run("--profile", profile, tree.root, "--journal", tmp_path / "j", "--manifest", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_complete(service, tree, out, profile=profile)


def test_big_upload_with_good_credentials_still_works(slow: dict[str, Future[None]]) -> None:
    """The control: the same profile shape, nothing wrong with it, pins everything."""
    slow["control"].result()


def test_credentials_refused_while_only_polling_end_the_run_with_2(tmp_path: Path) -> None:
    # The uploads are through and only the pin jobs are left to follow when the
    # service stops honouring the API key (its signing secret was replaced):
    # a configuration error, exit 2 at once, not an outage waited out (3).
    cloud, endpoint = free_ports(2)
    ports = ("--cloud-port", str(cloud), "--endpoint-ports", str(endpoint), "--job-delay", "600")
    svc = ServiceProcess(tmp_path / "svc", *ports).start()
    tree = tmp_path / "tree"
    make_tree(tree, files=3, largest=2 * KiB)
    proc = start("--profile", svc.profile_path, "--json", "--journal", tmp_path / "j.sqlite",
                 "--patience", "300", tree)
    assert proc.stdout is not None
    uploaded = 0
    for line in proc.stdout:
        uploaded += '"outcome": "uploaded"' in line
        if uploaded == 3:
            break
    svc.stop()
    (svc.data_dir / "jwt-secret").unlink()
    restarted = ServiceProcess(svc.data_dir, *ports).start()
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        restarted.stop()
    assert proc.returncode == 2, err
    said = out + err  # --json: the reason is in the summary event
    assert "the service refused the credentials" in said
    assert "HTTP 401" in said
    # Nothing lost: the journal still has the three uploads, waiting for their jobs.
    assert journal_states(tmp_path / "j.sqlite") == {"uploaded": 3}
