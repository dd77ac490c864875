"""Injected faults: ``ROUTE:KIND=P[,KIND=P...][;ROUTE:...]``, decided by one seeded generator.

Kinds and what the client sees:

======== =============================================================
503, 500 that status, JSON error body; the work is not done
429      429 with ``Retry-After: 1``; the work is not done
reset    the connection closes part-way through reading the request body
drop     the work is done and committed, then the connection closes unanswered
slow     the work is done, the answer comes 2 s later
garbage  the work is done, the answer is a 200 whose body is not JSON
======== =============================================================

Routes are the Decoo API's (``pinFile``...), the Pinning Service API's
(``psaList``, ``psaAdd``, ``psaGet``, ``psaReplace``, ``psaDelete``, or ``psa``
for all five) and the gateway's ``ipfs``; ``*`` is every route.

One :class:`random.Random` seeded with ``--fault-seed`` makes every decision,
one draw per request on a route that has rules, so the same sequence of
requests meets the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal, get_args

FaultKind = Literal["503", "500", "429", "reset", "drop", "slow", "garbage"]
KINDS: tuple[str, ...] = get_args(FaultKind)
#: The Pinning Service API's routes, which the group name ``psa`` stands for.
PSA_ROUTES = ("psaList", "psaAdd", "psaGet", "psaReplace", "psaDelete")
#: Routes a spec may name; ``*`` stands for every API route.
ROUTES = ("pinFile", "pinByHash", "pinJobs", "pinList", "accessToken", *PSA_ROUTES, "ipfs")
#: Names that stand for several routes.
GROUPS = {"psa": PSA_ROUTES}
#: How long a ``slow`` answer is held back.
SLOW_SECONDS = 2.0


class FaultSpecError(ValueError):
    """A ``--faults`` spec that cannot be parsed."""


@dataclass(frozen=True)
class FaultPlan:
    """Per route, the faults and their probabilities (route ``*`` applies everywhere)."""

    rules: dict[str, tuple[tuple[FaultKind, float], ...]] = field(default_factory=dict)

    def for_route(self, route: str) -> tuple[tuple[FaultKind, float], ...]:
        """The rules that apply to ``route``: its own first, its group's, then ``*``'s."""
        if route == "*":
            return self.rules.get("*", ())
        groups = tuple(
            rule for group, members in GROUPS.items() if route in members
            for rule in self.rules.get(group, ())
        )
        return self.rules.get(route, ()) + groups + self.rules.get("*", ())

    def __bool__(self) -> bool:
        return bool(self.rules)


def parse_kind_rate(item: str, kinds: tuple[str, ...], what: str) -> tuple[str, float]:
    """One ``KIND=P`` of a fault spec, ``KIND`` one of ``kinds`` (``what`` names them)."""
    kind, eq, prob = (x.strip() for x in item.partition("="))
    if not eq:
        raise FaultSpecError(f"{item.strip()!r}: expected KIND=P")
    if kind not in kinds:
        raise FaultSpecError(f"unknown {what} {kind!r} (known: {', '.join(kinds)})")
    try:
        p = float(prob)
    except ValueError:
        raise FaultSpecError(f"{item.strip()!r}: {prob!r} is not a probability") from None
    if not 0.0 <= p <= 1.0:
        raise FaultSpecError(f"{item.strip()!r}: probability must be in [0, 1]")
    return kind, p


def parse_faults(spec: str) -> FaultPlan:
    """Parse a ``--faults`` spec; :class:`FaultSpecError` says what is wrong."""
    rules: dict[str, list[tuple[FaultKind, float]]] = {}
    for section in filter(None, (s.strip() for s in spec.split(";"))):
        route, sep, body = section.partition(":")
        route = route.strip()
        if not sep or not body.strip():
            raise FaultSpecError(f"{section!r}: expected ROUTE:KIND=P[,KIND=P...]")
        if route != "*" and route not in ROUTES and route not in GROUPS:
            raise FaultSpecError(
                f"unknown route {route!r} (known: {', '.join((*ROUTES, *GROUPS))}, *)"
            )
        for item in body.split(","):
            kind, p = parse_kind_rate(item, KINDS, "fault")
            rules.setdefault(route, []).append((kind, p))  # type: ignore[arg-type]
    plan = FaultPlan({route: tuple(kinds) for route, kinds in rules.items()})
    for route in (*ROUTES, "*"):
        total = sum(p for _, p in plan.for_route(route))
        if total > 1.0 + 1e-9:
            raise FaultSpecError(
                f"fault probabilities for route {route!r} add up to {total:g}, more than 1"
            )
    return plan


class FaultInjector:
    """Draws the fault, if any, for each request."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self._plan = plan
        self._rng = random.Random(seed)  # noqa: S311 - replayable, not secret

    def decide(self, route: str) -> FaultKind | None:
        """The fault for this request on ``route``, or None."""
        rules = self._plan.for_route(route)
        if not rules:
            return None
        draw = self._rng.random()
        for kind, p in rules:
            if draw < p:
                return kind
            draw -= p
        return None
