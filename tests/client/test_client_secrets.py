"""A whole run logged at DEBUG: no API key, token, private key or secret anywhere."""

from __future__ import annotations

import logging
import tomllib
import traceback
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from bulkpin.client import AuthenticationError, Credentials, DecooError, Forbidden
from bulkpin.client.redact import Secret
from bulkpin.signing import generate_private_key, private_key_to_body, sign_cid
from tests.support.service import ServiceProcess

from .helpers import FrozenClock, credentials_for, make_client, requests

pytestmark = pytest.mark.anyio

MakeFiles = Callable[..., list[Path]]
ServiceFactory = Callable[..., ServiceProcess]


def exception_texts(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


async def test_debug_log_of_a_whole_run_holds_no_secret(
    service_factory: ServiceFactory,
    files: MakeFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = service_factory(
        # A token lives 3 s: long enough that a renewed one outlives its retry on
        # a loaded machine (at 1 s, two expiries in a row failed the upload).
        "--token-ttl", "3", "--faults", "pinFile:503=0.3,drop=0.2,garbage=0.1", "--fault-seed", "5"
    )
    profile = tomllib.loads(service.profile_path.read_text())
    paths = files(6)
    credentials = credentials_for(service)
    other_key = generate_private_key()
    bought: list[str] = []
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    async with make_client(service, clock=FrozenClock()) as client:
        shop = client.tokens._fetch

        async def spy() -> str:
            token = await shop()
            bought.append(token)
            return token

        client.tokens._fetch = spy
        results = [await client.pin_file(path) for path in paths[:3]]
        await anyio.sleep(3.2)  # the token expires: 401s and renewals follow
        results += [await client.pin_file(path) for path in paths[3:]]
        texts += [repr(client), repr(await client.access_token()), repr(credentials)]
    # Errors that carry credentials' worth of context.
    wrong_key = Credentials(credentials.cloud_url, credentials.api_key, other_key)
    async with make_client(service, credentials=wrong_key) as client:
        with pytest.raises(Forbidden) as forbidden:
            await client.pin_file(paths[0])
    bad_key = "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJhcGkifQ.Zm9yZ2VkLXNpZ25hdHVyZQ"
    refused = Credentials(credentials.cloud_url, Secret(bad_key), credentials.private_key)
    async with make_client(service, credentials=refused) as client:
        with pytest.raises(AuthenticationError) as unauthorised:
            await client.ping()
    errors: list[DecooError] = [forbidden.value, unauthorised.value]
    texts += [exception_texts(e) for e in errors]

    stats = service.stats()
    # The run went through what it should have: faults, retries, 401 renewals.
    assert requests(stats, "pinFile", "401") >= 1
    assert requests(stats, "pinFile", "503") >= 1
    assert len(bought) >= 2
    assert "retrying" in caplog.text
    assert "bought access token" in caplog.text

    secrets = {
        "API key": profile["api_key"],
        "forged API key": bad_key,
        "private key": profile["private_key"],
        "other private key": private_key_to_body(other_key),
        **{f"access token {i}": token for i, token in enumerate(bought)},
        **{f"secret of {r.cid}": sign_cid(credentials.private_key, r.cid) for r in results},
        **{f"wrong secret of {r.cid}": sign_cid(other_key, r.cid) for r in results},
    }
    output = caplog.text + "\n".join(texts)
    assert len(output) > 1000
    for what, value in secrets.items():
        # Any 24-character piece would do to rebuild it: check a few.
        for piece in (value, value[:24], value[len(value) // 2 :][:24], value[-24:]):
            assert piece not in output, f"{what} appears in the output"
