"""Bad input, the service's answers (issue 7, item 5): each case a test with its outcome.

What the service cannot be made to say from inside, a proxy in front of it
says instead: answers with fields missing or of the wrong type, a PinHash that
is not the CID sent, job statuses that lie for a while, 429s with odd
``Retry-After`` values; and, on the wire, answers cut short, resets at a
chosen byte, a slow link and a black hole. The work behind each answer is
real (``bulkpin serve`` did it); only what the client reads is changed.

The expected outcome everywhere: nothing pinned twice, nothing lost, and a
clear message where a file could not be pinned.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from bulkpin.client import DecooClient, load_credentials
from bulkpin.push import PushOptions, push
from bulkpin.testing.proxy import ChaosProxy, Fault, Response, Rewrite
from bulkpin.unixfs import hash_bytes
from tests.support.service import ServiceProcess

from .helpers import (
    KiB,
    MiB,
    SideBySide,
    Tree,
    account,
    assert_complete,
    file_rows,
    flat,
    journal_states,
    make_tree,
    pins_of,
    run,
    seed,
    write_profile,
)


@dataclass
class Via:
    """An account whose Cloud and Endpoint are reached through proxies."""

    profile: Path
    real_profile: Path
    cloud: ChaosProxy
    endpoint: ChaosProxy


@contextmanager
def via(service: ServiceProcess, real_profile: Path, path: Path) -> Iterator[Via]:
    with ChaosProxy(service.cloud_url, seed=seed(path.name)) as cloud, \
            ChaosProxy(service.endpoint_urls[0], seed=seed(path.name) + 1) as endpoint:
        fields = {**account(service, real_profile), "cloud_url": cloud.url,
                  "endpoint": endpoint.url}
        yield Via(write_profile(path, fields), real_profile, cloud, endpoint)


@pytest.fixture
def proxied(shared: ServiceProcess, new_account: Callable[[], Path],
            tmp_path: Path) -> Iterator[Via]:
    with via(shared, new_account(), tmp_path / "via.toml") as v:
        yield v


def _tree(tmp_path: Path, files: int = 12) -> Tree:
    return make_tree(tmp_path / "t", files=files, largest=200 * KiB, big=[2 * MiB],
                     name=tmp_path.name)


def _push(v: Via, tree: Tree, tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "m.jsonl"
    proc = run("--profile", v.profile, tree.root, "--journal", tmp_path / "j.sqlite",
               "--manifest", out, *extra)
    return proc.returncode, flat(proc.stderr), out


def _first(n: int, route: str, change: Callable[[Response], Response]) -> Rewrite:
    """Apply ``change`` to the first ``n`` successful answers on ``route``."""
    done = [0]

    def hook(request_line: str, response: Response) -> Response:
        if route in request_line and response.status == 200 and done[0] < n:
            done[0] += 1
            return change(response)
        return response

    return hook


def _json(change: Callable[[Any], Any]) -> Callable[[Response], Response]:
    def apply(response: Response) -> Response:
        return replace(response, body=json.dumps(change(json.loads(response.body))).encode())

    return apply


# The push-level cases mostly wait (polls, timeouts): they run side by side, each
# with its own account and proxies, and each test below reports one of them.
BOOK = SideBySide()
ProxiedCase = Callable[[ServiceProcess, Via, Path], None]


def _proxied(name: str) -> Callable[[ProxiedCase], ProxiedCase]:
    def register(fn: ProxiedCase) -> ProxiedCase:
        def case(service: ServiceProcess, profile: Path, tmp_path: Path) -> None:
            with via(service, profile, tmp_path / "via.toml") as v:
                fn(service, v, tmp_path)

        BOOK.add(name, case)
        return fn

    return register


@pytest.fixture(scope="module", autouse=True)
def outcomes(shared: ServiceProcess,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[None]]]:
    with BOOK.running(shared, tmp_path_factory) as futures:
        yield futures


# -- pinFile answers --------------------------------------------------------------------------


UNREADABLE: dict[str, Callable[[Any], Any]] = {
    "fields missing": lambda body: {},
    "wrong types": lambda body: {"PinHash": 42, "PinSize": "many", "PinDate": []},
    "a list, not an object": lambda body: [body],
    "an error wrapped under HTTP 200": lambda body: {"Code": 500, "Message": "oops"},
}


def _unreadable(change: Callable[[Any], Any]) -> ProxiedCase:
    def case(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
        v.endpoint.rewrite = _first(4, "pinFile", _json(change))
        tree = _tree(tmp_path)
        status, err, out = _push(v, tree, tmp_path)
        assert status == 0, err
        assert v.endpoint.stats.rewritten == 4
        assert_complete(service, tree, out, profile=v.real_profile)

    return case


for _name, _change in UNREADABLE.items():
    _proxied(f"unreadable pinFile answer: {_name}")(_unreadable(_change))


@pytest.mark.parametrize("case", BOOK.names("unreadable pinFile answer"))
def test_unreadable_pin_file_answer_is_recovered_not_sent_twice(
    outcomes: dict[str, Future[None]], case: str
) -> None:
    """The upload went through, its answer makes no sense: the client asks pinJobs
    instead of uploading again."""
    outcomes[case].result()


def _refused(response: Response) -> Response:
    return replace(response, status=503, reason="Service Unavailable",
                   body=json.dumps({"Code": 503, "Message": "down"}).encode())


@_proxied("answer lost while the service could not be asked")
def _lost_then_unaskable(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
    # The first upload's answer is unreadable (the job was made), and every
    # attempt of the lookup that follows is refused: the client gives up on the
    # request, not knowing. The account was listed before the upload, so the
    # index cannot know that job: the item's next try must ask pinJobs again,
    # not send the file a second time (CI saw this after a SIGKILL outage).
    v.endpoint.rewrite = _first(1, "pinFile", lambda r: replace(r, body=b"<html>oops"))
    v.cloud.rewrite = _first(6, "pin-hash=", _refused)
    tree = make_tree(tmp_path / "t", files=2, largest=10 * KiB, name=tmp_path.name)
    status, err, out = _push(v, tree, tmp_path)
    assert status == 0, err
    assert v.endpoint.stats.rewritten == 1
    assert v.cloud.stats.rewritten == 6
    assert_complete(service, tree, out, profile=v.real_profile)


def test_a_lost_answer_the_service_could_not_be_asked_about_is_asked_again_not_sent_twice(
    outcomes: dict[str, Future[None]],
) -> None:
    outcomes["answer lost while the service could not be asked"].result()


@_proxied("pinFile answer wrapped in Code/Msg/Data")
def _wrapped(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
    v.endpoint.rewrite = _first(
        100, "pinFile", _json(lambda body: {"Code": 200, "Msg": "Success", "Data": body}))
    tree = _tree(tmp_path)
    status, err, out = _push(v, tree, tmp_path)
    assert status == 0, err
    assert v.endpoint.stats.rewritten == len(tree.distinct)
    assert_complete(service, tree, out, profile=v.real_profile)


def test_pin_file_answer_wrapped_in_code_msg_data_is_accepted(
    outcomes: dict[str, Future[None]],
) -> None:
    outcomes["pinFile answer wrapped in Code/Msg/Data"].result()


def test_garbage_answers_are_recovered_not_sent_twice(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    svc = service_factory("--faults", "pinFile:garbage=0.3;pinJobs:garbage=0.2",
                          "--fault-seed", str(seed("garbage")))
    tree = _tree(tmp_path, files=30)
    out = tmp_path / "m.jsonl"
    proc = run("--profile", svc.profile_path, tree.root, "--journal", tmp_path / "j",
               "--manifest", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    svc.restart("--job-delay", "0.05")  # our own reading needs answers without garbage
    assert_complete(svc, tree, out)
    assert svc.stats()["duplicate_jobs"] == 0


@_proxied("a PinHash that is not the local CID")
def _lying_pin_hash(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
    liar = hash_bytes(b"some other content").cid
    v.endpoint.rewrite = _first(1, "pinFile", _json(lambda body: {**body, "PinHash": liar}))
    tree = _tree(tmp_path)
    status, err, out = _push(v, tree, tmp_path)
    assert status == 1
    failed = {p: r for p, r in file_rows(out).items() if r["status"] != "pinned"}
    assert len(failed) == 1
    (path, row), = failed.items()
    local = tree.cids[path]
    assert row["status"] == "failed"
    assert row["error"] == f"the service answered PinHash {liar}, but the file's CID is {local}"
    assert f"the service answered PinHash {liar}, but the file's CID is {local}" in err
    assert liar not in {p["PinHash"] for p in pins_of(service, v.real_profile)}
    # A later run asks pinJobs about that file: the upload did happen, it is not sent again.
    v.endpoint.rewrite = None
    sent = v.endpoint.stats.requests["POST /pinning/pinFile"]
    status, err, out = _push(v, tree, tmp_path)
    assert status == 0, err
    assert v.endpoint.stats.requests["POST /pinning/pinFile"] == sent
    assert_complete(service, tree, out, profile=v.real_profile)


def test_pin_hash_differing_from_the_local_cid_fails_that_file_with_both_cids(
    outcomes: dict[str, Future[None]],
) -> None:
    outcomes["a PinHash that is not the local CID"].result()


# -- pinJobs answers -----------------------------------------------------------------------


def _numbers_as_strings(body: Any) -> Any:
    return {**body, "Count": str(body["Count"])}


def _lie(status: str) -> Callable[[Any], Any]:
    def change(body: Any) -> Any:
        return {**body, "Jobs": [{**j, "Status": status} for j in body["Jobs"]]}

    return change


@_proxied("pinJobs numbers as strings")
def _strings(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
    v.cloud.rewrite = _first(10**6, "pinJobs", _json(_numbers_as_strings))
    tree = _tree(tmp_path)
    status, err, out = _push(v, tree, tmp_path)
    assert status == 0, err
    assert v.cloud.stats.rewritten >= 1
    assert_complete(service, tree, out, profile=v.real_profile)


def test_pin_jobs_numbers_as_strings_are_read(outcomes: dict[str, Future[None]]) -> None:
    outcomes["pinJobs numbers as strings"].result()


MISLEADING: dict[str, tuple[int, Callable[[Any], Any]]] = {
    "an unknown job status": (6, _lie("weird")),
    "a job failed, then pinned": (6, _lie("failed")),
    "an error wrapped under HTTP 200": (3, lambda body: {"Code": 503, "Msg": "busy"}),
}


def _misleading(rounds: int, change: Callable[[Any], Any]) -> ProxiedCase:
    def case(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
        v.cloud.rewrite = _first(rounds, "pinJobs", _json(change))
        tree = _tree(tmp_path)
        status, err, out = _push(v, tree, tmp_path)
        assert status == 0, err
        assert v.cloud.stats.rewritten == rounds
        assert_complete(service, tree, out, profile=v.real_profile)

    return case


for _name, (_rounds, _change) in MISLEADING.items():
    _proxied(f"misleading pinJobs: {_name}")(_misleading(_rounds, _change))


@pytest.mark.parametrize("case", BOOK.names("misleading pinJobs"))
def test_pin_jobs_answers_that_mislead_for_a_while(
    outcomes: dict[str, Future[None]], case: str
) -> None:
    outcomes[case].result()


@_proxied("a job failed past the wait timeout")
def _failed_for_long(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
    v.cloud.rewrite = _first(10**6, "pinJobs", _json(_lie("failed")))
    tree = _tree(tmp_path, files=4)
    status, err, out = _push(v, tree, tmp_path, "--wait-timeout", "1")
    assert status == 1
    assert "the service reports the pin job failed" in err
    assert {r["status"] for r in file_rows(out).values()} == {"failed"}
    v.cloud.rewrite = None
    sent = v.endpoint.stats.requests["POST /pinning/pinFile"]
    status, err, out = _push(v, tree, tmp_path)
    assert status == 0, err
    assert v.endpoint.stats.requests["POST /pinning/pinFile"] == sent
    assert_complete(service, tree, out, profile=v.real_profile)


def test_job_failed_past_the_wait_timeout_is_reported_then_revived_when_pinned(
    outcomes: dict[str, Future[None]],
) -> None:
    """Jobs that stay ``failed`` longer than --wait-timeout fail their files (exit 1);
    Decoo retries failed jobs, so a later run that sees them pinned pins the files
    without uploading anything again."""
    outcomes["a job failed past the wait timeout"].result()


def test_job_stuck_queued_ends_with_exit_3_after_the_wait_timeout(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    svc = service_factory("--job-delay", "3600")
    tree = _tree(tmp_path, files=3)
    journal = tmp_path / "j.sqlite"
    proc = run("--profile", svc.profile_path, tree.root, "--journal", journal,
               "--wait-timeout", "2")
    assert proc.returncode == 3
    assert "jobs still not final after waiting 2 s with no progress" in flat(proc.stderr)
    assert journal_states(journal) == {"uploaded": len(tree.cids)}
    assert svc.stats()["jobs"]["queued"] == len(tree.distinct)


# -- the wire -------------------------------------------------------------------------------


WIRE = {
    "answer cut short after its headers": Fault("cut", at=120),
    "answer cut short after 1 byte": Fault("cut", at=1),
    "reset after 100 KB of an upload": Fault("reset", at=100_000),
    "reset after the first byte": Fault("reset", at=1),
    "slow link, 2 MB/s": Fault("slow", rate=2_000_000),
}


def _wire(fault: Fault) -> ProxiedCase:
    def case(service: ServiceProcess, v: Via, tmp_path: Path) -> None:
        # Half the connections, seeded: every upload ends pinned exactly once.
        v.endpoint.set_faults([(fault, 0.5)])
        tree = _tree(tmp_path)
        status, err, out = _push(v, tree, tmp_path)
        assert status == 0, err
        assert v.endpoint.stats.connections[fault.kind] >= 1
        assert_complete(service, tree, out, profile=v.real_profile)

    return case


for _name, _fault in WIRE.items():
    _proxied(f"wire: {_name}")(_wire(_fault))


@pytest.mark.parametrize("case", BOOK.names("wire: "))
def test_endpoint_connection_faults(outcomes: dict[str, Future[None]], case: str) -> None:
    outcomes[case].result()


@pytest.mark.anyio
async def test_black_hole_endpoint_times_out_and_the_upload_goes_through_after(
    proxied: Via, shared: ServiceProcess, tmp_path: Path
) -> None:
    """Connections that are accepted and never answered: the read timeout ends each
    one, pinJobs says whether it got through, and the file ends pinned once."""
    proxied.endpoint.set_faults([(Fault("blackhole"), 0.5)])
    tree = _tree(tmp_path, files=6)
    credentials = load_credentials(profile=proxied.profile, env={})
    options = PushOptions(journal=tmp_path / "j.sqlite", manifest=tmp_path / "m.jsonl",
                          poll_interval=0.05, concurrency=4)
    async with DecooClient(credentials, concurrency=4, read_timeout=1.0) as client:
        summary = await push([str(tree.root)], options, client=client)
    assert summary.exit_status == 0, summary.reason
    assert proxied.endpoint.stats.connections["blackhole"] >= 1
    assert_complete(shared, tree, tmp_path / "m.jsonl", profile=proxied.real_profile)


@pytest.mark.timeout(100)  # a guard, not a measure: the run itself takes seconds
def test_black_hole_endpoint_with_the_cli_timeout(
    proxied: Via, shared: ServiceProcess, tmp_path: Path
) -> None:
    """The same through ``bulkpin push --timeout 1``. Were the option not applied, the
    first swallowed attempt alone would wait the default 120 s, past the guard."""
    proxied.endpoint.set_faults([(Fault("blackhole"), 0.5)])
    tree = _tree(tmp_path, files=6)
    status, err, out = _push(proxied, tree, tmp_path, "--timeout", "1", "--concurrency", "4")
    assert status == 0, err
    assert proxied.endpoint.stats.connections["blackhole"] >= 1
    assert_complete(shared, tree, out, profile=proxied.real_profile)


# -- Retry-After --------------------------------------------------------------------------


class Sleeps:
    """An injected ``sleep``: returns at once, remembers what was asked."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def _too_many(retry_after: str) -> Callable[[Response], Response]:
    def change(response: Response) -> Response:
        body = b'{"Code": 429, "Message": "slow down"}'
        return replace(response, status=429, reason="Too Many Requests",
                       body=body).with_header("Retry-After", retry_after)

    return change


#: The client's wall clock in these tests (injected, so a date means an exact delay).
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "header", "low", "high"),
    [
        ("seconds", "7", 7.0, 7.0),
        ("an HTTP date 30 s ahead", format_datetime(NOW + timedelta(seconds=30), usegmt=True),
         30.0, 30.0),
        ("an HTTP date in the past", "Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 0.5),
        ("garbage", "soon, maybe", 0.0, 0.5),
        ("negative", "-5", 0.0, 0.5),
        ("huge", "999999999", 120.0, 120.0),
        ("not a number at all", "NaN", 0.0, 0.5),
    ],
)
@pytest.mark.anyio
async def test_retry_after_values(
    proxied: Via, case: str, header: str, low: float, high: float
) -> None:
    """A 429 whose Retry-After is honoured when it means something, capped when huge
    (120 s), and otherwise replaced by the client's own first backoff (at most 0.5 s)."""
    proxied.cloud.rewrite = _first(1, "pinJobs", _too_many(header))
    sleeps = Sleeps()
    credentials = load_credentials(profile=proxied.profile, env={})
    async with DecooClient(credentials, sleep=sleeps, now=lambda: NOW,
                           rng=random.Random(seed(case))) as client:
        page = await client.pin_jobs_page()
    assert page.count == 0
    assert len(sleeps.delays) == 1
    assert low <= sleeps.delays[0] <= high
    assert proxied.cloud.stats.requests["GET /pinning/pinJobs"] == 2


# -- paging -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_pages_shifting_while_listed_lose_and_repeat_nothing(
    proxied: Via, tmp_path: Path
) -> None:
    """pinList newest first, five to a page, while new pins arrive between pages: every
    pin there at the start is listed, and none twice."""
    credentials = load_credentials(profile=proxied.real_profile, env={})
    async with DecooClient(credentials) as client:
        for i in range(12):
            path = tmp_path / f"before{i}"
            path.write_bytes(b"before %d" % i)
            await client.pin_file(path)
        before = {pin.id async for pin in client.pin_list(page_size=1000)}
        seen: list[str] = []
        added = 0
        async for pin in client.pin_list(page_size=5):
            seen.append(pin.id)
            if len(seen) % 5 == 1:  # a new page: two more pins push the rest down
                for _ in range(2):
                    path = tmp_path / f"during{added}"
                    path.write_bytes(b"during %d" % added)
                    await client.pin_file(path)
                    added += 1
    assert len(seen) == len(set(seen))
    assert before <= set(seen)
