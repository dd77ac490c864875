"""A small fake of kubo's ``POST /api/v0/pin/ls`` RPC endpoint, for tests.

There is no kubo daemon in the test environment, so this serves what kubo's
documentation and ``core/commands/pin/pin.go`` describe: with ``stream=true``,
one JSON object per line, ``{"Cid": "...", "Type": "recursive"}`` plus
``"Name"`` when the pin has one and ``names=true`` was asked; without
``stream``, one ``{"Keys": {cid: {"Type", "Name"}}}`` object. Errors before any
output are HTTP 500 with ``{"Message": ..., "Code": 0, "Type": "error"}`` (as
go-ipfs-cmds sends them); ``error_after`` makes it write that object as a line
part-way through the stream instead, the form older nodes used. Like kubo's
RPC API, it answers 405 to anything but POST.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class FakePin:
    cid: str
    type: str = "recursive"
    name: str = ""


@dataclass
class FakeKubo:
    """The node's pins and how it misbehaves; ``requests`` records each query seen."""

    pins: Sequence[FakePin] = ()
    #: Answer every request with HTTP 500 and kubo's error object.
    fail_with_500: bool = False
    #: Write an error line after this many pins (None: never).
    error_after: int | None = None
    #: Raw lines written after the pins (garbage, bad CIDs...).
    extra_lines: Sequence[bytes] = ()
    #: Require ``Authorization: Bearer <token>`` (kubo's API.Authorizations).
    token: str | None = None
    requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/v0/pin/ls", self._pin_ls)
        return app

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return web.json_response({"Message": message, "Code": 0, "Type": "error"}, status=status)

    async def _pin_ls(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        if request.method != "POST":
            return web.Response(status=405, text=f"{request.method} not allowed")
        if self.token is not None and request.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return web.Response(status=403, text="403 - Forbidden")
        if self.fail_with_500:
            return self._error(500, "pin/ls: datastore closed")
        wanted = request.query.get("type", "all")
        if wanted not in ("direct", "indirect", "recursive", "all"):
            return self._error(500, f"invalid type '{wanted}'")
        names = request.query.get("names") == "true"
        pins = [p for p in self.pins if wanted in ("all", p.type)]
        if request.query.get("stream") != "true":
            keys = {p.cid: {"Type": p.type, "Name": p.name if names else ""} for p in pins}
            return web.json_response({"Keys": keys})
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "X-Chunked-Output": "1",
                     "Trailer": "X-Stream-Error"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i, pin in enumerate(pins):
            if self.error_after is not None and i == self.error_after:
                error = {"Message": "pin/ls: context canceled", "Code": 0, "Type": "error"}
                await response.write(json.dumps(error).encode() + b"\n")
                await response.write_eof()
                return response
            line = {"Cid": pin.cid, "Type": pin.type}
            if names and pin.name:
                line["Name"] = pin.name
            await response.write(json.dumps(line).encode() + b"\n")
        for raw in self.extra_lines:
            await response.write(raw)
        await response.write_eof()
        return response
