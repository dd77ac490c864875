"""``--from`` specs and the source's token: usage errors before anything is sent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulkpin.client import ConfigurationError, InsecureFileError
from bulkpin.sources import (
    CidListSource,
    KuboSource,
    PinSource,
    PsaSource,
    SourceSpecError,
    load_token,
    open_source,
)


def make_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_specs_name_their_source(tmp_path: Path) -> None:
    cids = make_file(tmp_path / "cids.txt", "")
    token = make_file(tmp_path / "token", "psa-token-value-123\n")
    listed = open_source(str(cids), token_env=None, token_file=None)
    assert isinstance(listed, CidListSource)
    assert listed.label == str(cids)
    stdin = open_source("-", token_env=None, token_file=None)
    assert isinstance(stdin, CidListSource)
    assert stdin.label == "stdin"
    psa = open_source("psa:https://api.example.com/psa/", token_env=None, token_file=token)
    assert isinstance(psa, PsaSource)
    assert psa.label == "psa:https://api.example.com/psa"
    kubo = open_source("kubo:http://127.0.0.1:5001", token_env=None, token_file=None)
    assert isinstance(kubo, KuboSource)
    assert kubo.label == "kubo:http://127.0.0.1:5001"
    for source in (listed, stdin, psa, kubo):
        assert isinstance(source, PinSource)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("https://api.pinata.cloud/psa", "psa:https://api.pinata.cloud/psa or kubo:"),
        ("s3://bucket/key", "unknown kind of source"),
        ("psa:ftp://host/psa", "http:// or https://"),
        ("psa:", "http:// or https://"),
        ("kubo:http://", "http:// or https://"),
        ("kubo:http://127.0.0.1:99999", "port"),
        ("psa:https://h/psa?x=1", "query"),
        ("no-such-file.txt", "no such file"),
        ("ipfs:QmSomething", "no such file"),
    ],
)
def test_bad_specs_are_usage_errors(spec: str, message: str, tmp_path: Path) -> None:
    token = make_file(tmp_path / "token", "tok-123456789")
    token_file = token if spec.startswith("psa:") else None
    with pytest.raises(SourceSpecError, match=message) as caught:
        open_source(spec, token_env=None, token_file=token_file)
    # A usage error, and a configuration error for the CLI's exit statuses.
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConfigurationError)


def test_a_directory_is_not_a_cid_list(tmp_path: Path) -> None:
    with pytest.raises(SourceSpecError, match="a directory"):
        open_source(str(tmp_path), token_env=None, token_file=None)


def test_psa_needs_a_token_and_cid_lists_take_none(tmp_path: Path) -> None:
    with pytest.raises(SourceSpecError, match="needs a token"):
        open_source("psa:https://h/psa", token_env=None, token_file=None)
    cids = make_file(tmp_path / "cids.txt", "")
    with pytest.raises(SourceSpecError, match="for psa: and kubo: sources only"):
        open_source(str(cids), token_env="T", token_file=None, environ={"T": "value-123456"})


def test_token_from_the_environment(tmp_path: Path) -> None:
    token = load_token(token_env="SRC_TOKEN", environ={"SRC_TOKEN": "  env-token-value-1  "})
    assert token is not None
    assert token.secret.reveal() == "env-token-value-1"
    assert token.origin == "environment variable SRC_TOKEN"
    assert "env-token-value-1" not in repr(token)
    assert load_token() is None
    for environ in ({}, {"SRC_TOKEN": " "}):
        with pytest.raises(SourceSpecError, match="SRC_TOKEN: that environment variable"):
            load_token(token_env="SRC_TOKEN", environ=environ)
    with pytest.raises(SourceSpecError, match="not both"):
        load_token(token_env="A", token_file=tmp_path / "t")


def test_token_file_must_be_private(tmp_path: Path) -> None:
    private = make_file(tmp_path / "token", "file-token-value-1\n")
    token = load_token(token_file=private)
    assert token is not None
    assert token.secret.reveal() == "file-token-value-1"
    assert token.origin == f"file {private}"
    for mode in (0o640, 0o604, 0o660):
        os.chmod(private, mode)
        with pytest.raises(InsecureFileError, match="chmod 600") as caught:
            load_token(token_file=private)
        assert "file-token-value-1" not in str(caught.value)
        # An insecure psa: token file stops open_source too.
        with pytest.raises(InsecureFileError):
            open_source("psa:https://h/psa", token_env=None, token_file=private)
    with pytest.raises(SourceSpecError, match="empty"):
        load_token(token_file=make_file(tmp_path / "empty", "\n"))
    with pytest.raises(SourceSpecError, match="No such file"):
        load_token(token_file=tmp_path / "missing")
    with pytest.raises(SourceSpecError, match="not a regular file"):
        load_token(token_file=tmp_path)
