"""A Pinning Service API that prints ``created`` coarsely, for the paging tests.

``bulkpin serve`` gives every pin of an account its own millisecond (it spreads
bursts), so it cannot show the case the pager must survive: many pins that
share one printed ``created`` at a page boundary, as services printing whole
seconds do. This one follows the spec's listing rules (``status``, ``before``
and ``after`` exclusive, ``limit`` up to 1000, ``count`` of all matches, newest
first) over pins whose times it keeps to the microsecond but prints to
``digits`` decimals, truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web


@dataclass(frozen=True)
class StoredPin:
    requestid: str
    cid: str
    created: datetime
    name: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    status: str = "pinned"


@dataclass
class FakePsa:
    pins: list[StoredPin] = field(default_factory=list)
    token: str = "fake-psa-token-0123456789"
    #: Decimals of the seconds printed in ``created`` (0: whole seconds).
    digits: int = 0
    #: The largest ``limit`` served (a service may cap pages below what is asked).
    max_limit: int = 1000
    #: Whether answers include ``count``.
    send_count: bool = True
    #: The query of every ``GET /pins``.
    queries: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/psa/pins", self._list)
        return app

    def printed(self, when: datetime) -> str:
        text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if self.digits:
            text += "." + f"{when.microsecond:06d}"[: self.digits]
        return text + "Z"

    @staticmethod
    def _failure(status: int, reason: str, details: str) -> web.Response:
        return web.json_response({"error": {"reason": reason, "details": details}}, status=status)

    async def _list(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.queries.append(query)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._failure(401, "UNAUTHORIZED", "Invalid access token")
        statuses = query.get("status", "pinned").split(",")
        limit = min(int(query.get("limit", "10")), self.max_limit)
        matching = [p for p in self.pins if p.status in statuses]
        if "before" in query:
            before = datetime.fromisoformat(query["before"])
            matching = [p for p in matching if p.created < before]
        if "after" in query:
            after = datetime.fromisoformat(query["after"])
            matching = [p for p in matching if p.created > after]
        # Newest first; ties in a fixed order, as a database index would give.
        matching.sort(key=lambda p: (p.created, p.requestid), reverse=True)
        results = [
            {
                "requestid": p.requestid,
                "status": p.status,
                "created": self.printed(p.created),
                "pin": {"cid": p.cid, "name": p.name, "meta": p.meta},
                "delegates": ["/ip4/127.0.0.1/tcp/4001"],
            }
            for p in matching[:limit]
        ]
        body: dict[str, object] = {"results": results}
        if self.send_count:
            body["count"] = len(matching)
        return web.json_response(body)
