"""Usage errors (exit 2, nothing sent) and failing sources (exit 3, resumable)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess

from .helpers import Source, assert_migrated, requests_of, run_pin

ServiceFactory = Callable[..., ServiceProcess]


def sent_anything(dest: ServiceProcess) -> bool:
    routes = dest.stats()["requests"]
    return any(route in routes for route in ("pinList", "pinJobs", "pinByHash", "accessToken"))


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--from", "http://127.0.0.1:1/psa"), {}, "unknown kind of source"),
        (("--from", "ftp:x"), {}, "no such file"),
        (("--from", "psa:not a url"), {"SRC_TOKEN": "t"}, "expected an http:// or https://"),
        (("--from", "psa:http://127.0.0.1:1/psa"), {}, "needs a token"),
        (("--from", "psa:http://127.0.0.1:1/psa", "--from-token-env", "SRC_TOKEN"), {},
         "--from-token-env SRC_TOKEN: that environment variable is unset or empty"),
        (("--from", "no-such-file.txt"), {}, "no such file"),
        (("QmNotACid",), {}, "argument 1: not a CID: 'QmNotACid'"),
        (("bafkqaaa", "--from", "-"), {}, "not both"),
        ((), {}, "not both and not neither"),
        (("bafkqaaa", "--from-token-env", "X"), {}, "go with --from"),
        (("bafkqaaa", "--shard", "3/3"), {}, "--shard 3/3"),
        (("bafkqaaa", "--manifest", "m.txt"), {}, ".jsonl or .csv"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_sent(
    service: ServiceProcess, args: tuple[str, ...], env: dict[str, str], message: str,
) -> None:
    run = run_pin(service, *args, env=env)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert not sent_anything(service)


def test_an_insecure_token_file_is_a_usage_error(service: ServiceProcess, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret-token")
    os.chmod(token, 0o644)
    run = run_pin(service, "--from", "psa:http://127.0.0.1:1/psa", "--from-token-file", token)
    assert run.returncode == 2, run.stderr
    assert "chmod 600" in run.stderr
    assert not sent_anything(service)


def test_a_refused_source_token_is_a_clear_resumable_error(
    source: Source, dest: ServiceProcess,
) -> None:
    run = run_pin(dest, "--from", source.psa, "--from-token-env", "SRC_TOKEN",
                  token="not-the-api-key")
    assert run.returncode == 3, run.stderr
    assert f"the source {source.psa} refused the token from environment variable SRC_TOKEN" \
        in run.stderr
    # The destination's credentials are fine: it must not be blamed.
    assert "the service refused the credentials" not in run.stderr
    assert "not-the-api-key" not in run.stderr
    assert "Run the same command again to resume" in run.stderr
    assert requests_of(dest, "pinByHash") == 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [("psaList:garbage=1", "did not answer with Pinning Service API PinResults"),
     ("psaList:429=1", "429")],
)
def test_a_source_failing_forever_is_a_clear_resumable_error(
    service_factory: ServiceFactory, dest: ServiceProcess, source: Source,
    fault: str, message: str,
) -> None:
    bad = service_factory("--faults", fault)
    src = Source(bad, {})
    run = run_pin(dest, "--from", src.psa, "--from-token-env", "SRC_TOKEN", token=src.token)
    assert run.returncode == 3, run.stderr
    assert f"cannot list the source {src.psa}" in run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_a_source_that_fails_part_way_keeps_what_was_listed(
    service_factory: ServiceFactory, small_source: Source,
    dest_factory: Callable[..., ServiceProcess],
) -> None:
    # The listing fails at once (401); a later run with the right token finishes.
    dest = dest_factory(small_source.service)
    refused = run_pin(dest, "--from", small_source.psa, "--from-token-env", "SRC_TOKEN",
                      token="wrong")
    assert refused.returncode == 3
    done = run_pin(dest, "--from", small_source.psa, "--from-token-env", "SRC_TOKEN",
                   token=small_source.token)
    assert done.returncode == 0, done.stderr
    assert_migrated(dest, small_source.pins)
