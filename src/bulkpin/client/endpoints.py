"""Which upload Endpoint to use, and when to move to another.

The Cloud lists the Endpoints (``/endpoint/list``). The client uses, in order of
preference:

1. the Endpoint named by the credentials or the caller (``BULKPIN_ENDPOINT``),
   matched by name, id or URL; a URL not on the list is used as given;
2. otherwise every listed Endpoint, ordered by the latency of one probe each
   (the quickest first; unreachable ones last).

An Endpoint the user named is the one used: :meth:`EndpointSelector.check`
asks it first, and one that does not answer is a configuration error, unless
failover was allowed (then it says which Endpoint it uses instead). Without a
named one, or with failover allowed, after
:attr:`EndpointSelector.failover_after` consecutive failures that point at the
Endpoint (connection errors, timeouts, 5xx; see
:attr:`~.retry.Verdict.endpoint_fault`), the selector moves to the next one in
that order, wrapping round. A success resets the count. Failures reported for
an Endpoint that is no longer current (requests in flight when the switch
happened) change nothing, so one outage moves the client once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import anyio

from .errors import ConfigurationError, DecooError
from .models import Endpoint

__all__ = ["DEFAULT_FAILOVER_AFTER", "EndpointSelector"]

log = logging.getLogger(__name__)

#: Consecutive failures on one Endpoint before moving to the next.
DEFAULT_FAILOVER_AFTER = 3

ListEndpoints = Callable[[], Awaitable[Sequence[Endpoint]]]
#: Seconds one probe of an Endpoint took, or None if it did not answer.
Probe = Callable[[Endpoint], Awaitable[float | None]]
#: Why nothing is there at an Endpoint (refused, no route, never answers), or
#: None if something is, however badly it answers.
Reach = Callable[[Endpoint], Awaitable[str | None]]


def _named(endpoint: Endpoint) -> str:
    """An Endpoint as the user knows it: its name and URL, or its URL alone."""
    return endpoint.url if endpoint.name == endpoint.url else f"{endpoint.name} ({endpoint.url})"


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


class EndpointSelector:
    """Chooses the Endpoint for each upload; safe to share between tasks."""

    def __init__(
        self,
        list_endpoints: ListEndpoints,
        probe: Probe,
        *,
        preference: str | None = None,
        failover_after: int = DEFAULT_FAILOVER_AFTER,
        failover: bool | None = None,
        reach: Reach | None = None,
    ) -> None:
        if failover_after < 1:
            raise ValueError("failover_after must be at least 1")
        self._list = list_endpoints
        self._probe = probe
        self._reach = reach or self._reach_by_probe
        self._preference = preference.strip().rstrip("/") if preference else None
        self.failover_after = failover_after
        #: Whether uploads may move to another Endpoint: by default only when the
        #: user named none (a named one is used, or the run stops, saying why).
        self.failover = failover if failover is not None else self._preference is None
        self._order: list[Endpoint] | None = None
        self._index = 0
        self._failures = 0
        self._lock = anyio.Lock()
        #: Every switch made, as (from URL, to URL), for logs and tests.
        self.switches: list[tuple[str, str]] = []

    @property
    def order(self) -> Sequence[Endpoint]:
        """The Endpoints in the order they will be tried (empty before the first use)."""
        return tuple(self._order or ())

    async def current(self) -> Endpoint:
        """The Endpoint to use now; lists and probes on first use."""
        if self._order is None:
            async with self._lock:
                if self._order is None:
                    self._order = await self._resolve()
                    log.debug(
                        "endpoints in order of preference: %s",
                        ", ".join(f"{e.name} ({e.url})" for e in self._order),
                    )
        return self._order[self._index]

    async def _resolve(self) -> list[Endpoint]:
        pref = self._preference
        if pref is not None and _is_url(pref):
            # An explicit URL needs no list to start with; the list (if the Cloud
            # gives one) only supplies somewhere to fail over to.
            try:
                listed = list(await self._list())
            except Exception as exc:  # the preferred URL alone is still usable
                log.debug("no endpoint list to fail over to: %s", exc)
                listed = []
            chosen = next((e for e in listed if e.url == pref), Endpoint(name=pref, url=pref))
            return [chosen, *(e for e in listed if e.url != pref)]
        listed = list(await self._list())
        if not listed:
            raise ConfigurationError("the Cloud lists no upload Endpoints")
        if pref is not None:
            wanted = pref.casefold()
            chosen_ep = next(
                (e for e in listed if wanted in (e.name.casefold(), (e.id or "").casefold())),
                None,
            )
            if chosen_ep is None:
                names = ", ".join(repr(e.name) for e in listed)
                raise ConfigurationError(f"no Endpoint named {pref!r}; the Cloud lists {names}")
            return [chosen_ep, *(e for e in listed if e is not chosen_ep)]
        return await self._by_latency(listed)

    async def _by_latency(self, listed: list[Endpoint]) -> list[Endpoint]:
        if len(listed) == 1:
            return listed
        latencies: dict[int, float | None] = {}

        async def measure(i: int, endpoint: Endpoint) -> None:
            latencies[i] = await self._probe(endpoint)

        async with anyio.create_task_group() as tg:
            for i, endpoint in enumerate(listed):
                tg.start_soon(measure, i, endpoint)
        for i, endpoint in enumerate(listed):
            seconds = latencies.get(i)
            shown = "no answer" if seconds is None else f"{seconds * 1000:.1f} ms"
            log.debug("endpoint %s (%s): %s", endpoint.name, endpoint.url, shown)

        def key(i: int) -> tuple[bool, float, int]:
            seconds = latencies.get(i)
            # Unreachable last; ties keep the Cloud's order.
            return (seconds is None, seconds or 0.0, i)

        return [listed[i] for i in sorted(range(len(listed)), key=key)]

    async def check(self) -> str | None:
        """Resolve the order now, and ask a named Endpoint whether it answers.

        Returns a warning to show when failover moved away from a named
        Endpoint that does not answer. Raises :class:`ConfigurationError` for a
        name the Cloud does not list, or a named Endpoint that does not answer
        while failover is not allowed.
        """
        if self._preference is None:
            return None  # the quickest listed is used, found on first use
        try:
            current = await self.current()
        except ConfigurationError:
            raise  # a name the Cloud does not list
        except DecooError as exc:
            # The Cloud is unreachable: the uploads' own retries and patience
            # deal with it; a wrong name is still found on their first try.
            log.debug("endpoint check deferred: %s", exc)
            return None
        why = await self._reach(current)
        if why is None:
            return None
        order = self._order or []
        if not self.failover or len(order) < 2:
            raise ConfigurationError(
                f"the Endpoint {_named(current)} does not answer ({why}); check --endpoint"
                " (or the profile's endpoint), or allow --failover to another")
        for i, other in enumerate(order[1:], start=1):
            if await self._reach(other) is None:
                self._index = i
                self.switches.append((current.url, other.url))
                return (f"the Endpoint {_named(current)} does not answer; uploading through"
                        f" {_named(other)} instead")
        raise ConfigurationError(f"no Endpoint answers (tried {len(order)})")

    async def _reach_by_probe(self, endpoint: Endpoint) -> str | None:
        return None if await self._probe(endpoint) is not None else "no answer"

    def record_success(self, endpoint: Endpoint) -> None:
        """A request to ``endpoint`` got an answer that is not its fault."""
        if self._order is not None and self._order[self._index] == endpoint:
            self._failures = 0

    def record_failure(self, endpoint: Endpoint) -> None:
        """A request to ``endpoint`` failed in a way that points at the Endpoint."""
        order = self._order
        if order is None or order[self._index] != endpoint:
            return
        self._failures += 1
        if self._failures < self.failover_after or len(order) < 2 or not self.failover:
            return
        self._failures = 0
        self._index = (self._index + 1) % len(order)
        following = order[self._index]
        self.switches.append((endpoint.url, following.url))
        log.warning(
            "endpoint %s failed %d times in a row; switching to %s",
            endpoint.url,
            self.failover_after,
            following.url,
        )
