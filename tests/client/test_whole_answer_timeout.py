"""--timeout bounds a whole answer, not each read (issue 25 item 2).

Against an aiohttp server that trickles its answers a few bytes at a time, each
read well inside the read timeout: the Cloud's listing and a Pinning Service
API source both give up on the answer once --timeout has passed, so the run's
patience can end it, instead of a listing that never ends and prints nothing.
"""

from __future__ import annotations

import asyncio

import anyio
import pytest
from aiohttp import web

from bulkpin.client import Credentials, DecooClient, DecooError, RetryPolicy, Secret
from bulkpin.signing import generate_private_key
from bulkpin.sources import PsaSource, SourceError
from bulkpin.sources.tokens import SourceToken
from tests.sources.loopback import serve

pytestmark = pytest.mark.anyio

API_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"


def _trickling(body: bytes) -> web.Application:
    """Every GET answers ``body`` two bytes every 0.2 s (10 B/s): minutes for a page."""

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for i in range(0, len(body), 2):
            await response.write(body[i:i + 2])
            await asyncio.sleep(0.2)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", trickle)
    return app


PAGE = b'{"Count": 0, "Pins": [], "padding": "' + b"x" * 2000 + b'"}'


async def test_a_trickled_cloud_answer_is_cut_at_the_timeout() -> None:
    async with serve(_trickling(PAGE)) as url:
        credentials = Credentials(url, Secret(API_KEY), generate_private_key(2048))
        async with DecooClient(credentials, read_timeout=1.0, connect_timeout=1.0,
                               retry=RetryPolicy(max_attempts=1)) as client:
            # A guard, not a measure: trickled whole, the answer takes 200 s.
            with anyio.fail_after(60), pytest.raises(DecooError, match=r"(?i)time"):
                await client.pin_list_page()


async def test_a_trickled_source_answer_is_cut_at_the_timeout() -> None:
    body = b'{"count": 0, "results": [], "padding": "' + b"x" * 2000 + b'"}'
    async with serve(_trickling(body)) as url:
        source = PsaSource(url, SourceToken(Secret("t"), "a test"), read_timeout=1.0,
                           connect_timeout=1.0, retry=RetryPolicy(max_attempts=1))
        with anyio.fail_after(60), pytest.raises((SourceError, DecooError)):
            async for _ in source:
                pass
