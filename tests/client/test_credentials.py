"""Credentials from arguments, profiles and the environment; private files only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomli_w
from cryptography.hazmat.primitives import serialization

from bulkpin.client import (
    ZONES,
    ConfigurationError,
    InsecureFileError,
    default_profile_path,
    load_credentials,
)
from bulkpin.signing import generate_private_key, private_key_to_body, verify_secret

KEY = generate_private_key()
BODY = private_key_to_body(KEY)
API_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
NO_DEFAULT = Path("/nonexistent/profile.toml")


def write_private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def profile(tmp_path: Path, mode: int = 0o600, **fields: str) -> Path:
    return write_private(tmp_path / "profile.toml", tomli_w.dumps(fields), mode)


def test_from_profile(tmp_path: Path) -> None:
    path = profile(tmp_path, cloud_url="http://127.0.0.1:9/", api_key=API_KEY, private_key=BODY)
    creds = load_credentials(profile=path, env={})
    assert creds.cloud_url == "http://127.0.0.1:9"
    assert creds.api_key.reveal() == API_KEY
    assert creds.key_bits == 1024
    assert verify_secret(KEY.public_key(), "Qmx", creds.sign("Qmx"))
    assert creds.source == f"profile {path}"


def test_zone_names_decoo_cloud_urls() -> None:
    creds = load_credentials(
        zone="cn", api_key=API_KEY, private_key=BODY, env={}, default_profile=NO_DEFAULT
    )
    assert creds.cloud_url == ZONES["cn"] == "https://api.decoo-cloud.cn"
    assert ZONES == {
        "global": "https://api.decoo.io",
        "cn": "https://api.decoo-cloud.cn",
        "beta": "https://beta.api.decoo.io",
    }
    with pytest.raises(ConfigurationError, match="unknown zone 'mars'"):
        load_credentials(zone="mars", api_key=API_KEY, private_key=BODY, env={})
    with pytest.raises(ConfigurationError, match="not both"):
        load_credentials(zone="global", cloud_url="https://x", env={})


def test_environment_and_precedence(tmp_path: Path) -> None:
    env = {
        "BULKPIN_CLOUD_URL": "https://env.example",
        "BULKPIN_API_KEY": API_KEY,
        "BULKPIN_PRIVATE_KEY": BODY,
        "BULKPIN_ENDPOINT": "Hong Kong",
    }
    creds = load_credentials(env=env, default_profile=NO_DEFAULT)
    assert (creds.cloud_url, creds.endpoint, creds.source) == (
        "https://env.example",
        "Hong Kong",
        "environment",
    )
    # Arguments beat the environment, field by field.
    creds = load_credentials(cloud_url="https://arg.example", env=env, default_profile=NO_DEFAULT)
    assert creds.cloud_url == "https://arg.example"
    assert creds.api_key.reveal() == API_KEY
    # A profile named explicitly beats the environment; the default one does not.
    path = profile(tmp_path, cloud_url="https://profile.example", api_key=API_KEY, private_key=BODY)
    assert load_credentials(profile=path, env=env).cloud_url == "https://profile.example"
    assert load_credentials(env=env, default_profile=path).cloud_url == "https://env.example"
    partial = {"BULKPIN_API_KEY": API_KEY}
    creds = load_credentials(env=partial, default_profile=path)
    assert creds.cloud_url == "https://profile.example"


def test_default_profile_not_read_when_not_needed(tmp_path: Path) -> None:
    insecure = profile(
        tmp_path, mode=0o644, cloud_url="https://p", api_key=API_KEY, private_key=BODY
    )
    creds = load_credentials(
        cloud_url="https://a", api_key=API_KEY, private_key=BODY, env={}, default_profile=insecure
    )
    assert creds.cloud_url == "https://a"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_profile_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = profile(tmp_path, mode=mode, cloud_url="https://x", api_key=API_KEY, private_key=BODY)
    with pytest.raises(InsecureFileError, match="chmod 600") as info:
        load_credentials(profile=path, env={})
    assert str(path) in str(info.value)
    assert f"{mode:04o}" in str(info.value)


def test_private_key_as_pem_file(tmp_path: Path) -> None:
    pem = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_file = write_private(tmp_path / "decoo.pem", pem)
    creds = load_credentials(
        cloud_url="https://x", api_key=API_KEY, private_key=str(key_file), env={}
    )
    assert creds.key_bits == 1024
    # Relative to the profile's directory.
    path = profile(tmp_path, cloud_url="https://x", api_key=API_KEY, private_key="decoo.pem")
    assert load_credentials(profile=path, env={}).key_bits == 1024
    # PEM text directly, too.
    assert (
        load_credentials(cloud_url="https://x", api_key=API_KEY, private_key=pem, env={}).key_bits
        == 1024
    )
    key_file.chmod(0o644)
    with pytest.raises(InsecureFileError, match="private key file"):
        load_credentials(cloud_url="https://x", api_key=API_KEY, private_key=str(key_file), env={})


def test_bad_key_errors_never_quote_the_key(tmp_path: Path) -> None:
    broken = BODY[:-40] + "A" * 40
    with pytest.raises(ConfigurationError) as info:
        load_credentials(cloud_url="https://x", api_key=API_KEY, private_key=broken, env={})
    assert BODY[:60] not in str(info.value)
    assert BODY[-60:-40] not in repr(info.value)
    with pytest.raises(ConfigurationError, match="existing file"):
        load_credentials(cloud_url="https://x", api_key=API_KEY, private_key="missing.pem", env={})


def test_missing_fields_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_credentials(env={}, default_profile=NO_DEFAULT)
    text = str(info.value)
    assert "Cloud URL" in text
    assert "API key" in text
    assert "private key" in text
    with pytest.raises(ConfigurationError, match="unknown keys colour"):
        load_credentials(profile=profile(tmp_path, colour="blue"), env={})
    with pytest.raises(ConfigurationError, match="http"):
        load_credentials(cloud_url="ftp://x", api_key=API_KEY, private_key=BODY, env={})


def test_repr_shows_no_secret() -> None:
    creds = load_credentials(cloud_url="https://x", api_key=API_KEY, private_key=BODY, env={})
    for text in (repr(creds), str(creds), repr(creds.api_key), f"{creds.api_key}"):
        assert API_KEY not in text
        assert BODY[:40] not in text
    assert "1024-bit" in repr(creds)


def test_default_profile_path_is_per_user() -> None:
    assert default_profile_path().name == "profile.toml"
    assert "bulkpin" in os.fspath(default_profile_path())
