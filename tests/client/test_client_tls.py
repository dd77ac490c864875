"""TLS: verified against a test CA, refused from an unknown one, off only on request."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from bulkpin.client import DecooClient, TLSError
from bulkpin.testing import ChaosProxy
from tests.support.service import ServiceProcess

from .helpers import Sleeps, credentials_for, requests

pytestmark = pytest.mark.anyio

MakeFiles = Callable[..., list[Path]]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


async def test_https_cloud_and_endpoint(
    service: ServiceProcess, server_tls: ssl.SSLContext, ca_file: Path, files: MakeFiles
) -> None:
    (path,) = files(1, size=300_000)
    with (
        ChaosProxy(service.cloud_url, tls=server_tls) as cloud,
        ChaosProxy(service.endpoint_urls[0], tls=server_tls) as endpoint,
    ):
        credentials = credentials_for(service, cloud_url=cloud.url, endpoint=endpoint.url)
        async with DecooClient(credentials, ca_bundle=ca_file, sleep=Sleeps()) as client:
            await client.ping()
            result = await client.pin_file(path)
        assert result.endpoint == endpoint.url
        assert cloud.stats.connections["pass"] >= 1
        assert endpoint.stats.connections["pass"] >= 1
    stats = service.stats()
    # The ping crossed the TLS proxy and the service accepted its key.
    assert requests(stats, "ping") == requests(stats, "ping", "200") == 1
    assert requests(stats, "pinFile", "200") == 1


async def test_unknown_ca_is_refused_and_not_retried(
    service: ServiceProcess, server_tls: ssl.SSLContext
) -> None:
    sleeps = Sleeps()
    with ChaosProxy(service.cloud_url, tls=server_tls) as cloud:
        credentials = credentials_for(service, cloud_url=cloud.url)
        # No ca_bundle: the system's trust store, which does not know the test CA.
        async with DecooClient(credentials, sleep=sleeps) as client:
            with pytest.raises(TLSError, match="certificate") as info:
                await client.ping()
    assert info.value.attempts == 1
    assert sleeps.delays == []
    assert requests(service.stats(), "ping") == 0


async def test_verification_off_is_explicit_and_warned(
    service: ServiceProcess, server_tls: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    with ChaosProxy(service.cloud_url, tls=server_tls) as cloud:
        credentials = credentials_for(service, cloud_url=cloud.url)
        with caplog.at_level(logging.WARNING, logger="bulkpin.client"):
            client = DecooClient(credentials, verify_tls=False)
        assert "verification is OFF" in caplog.text
        async with client:
            await client.ping()
        assert cloud.stats.connections["pass"] == 1
    # The unverified connection reached the service, which answered the ping.
    assert requests(service.stats(), "ping") == requests(service.stats(), "ping", "200") == 1
