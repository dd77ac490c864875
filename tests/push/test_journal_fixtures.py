"""Journals an earlier bulkpin left (schema 2, 3: ``tests/fixtures/journals/``) open and resume.

Each fixture is a real journal of a run cut short (see ``make_journals.py``):
some items pinned, one about to be sent, the rest only discovered. Opened by
this bulkpin it is brought up to the current schema, and a run on it ends
with every item on the account, what the account already held not sent
again. The fixtures were bound to a ``bulkpin serve`` long gone; each test
binds its copy to the test's own service, the same account as far as the
journal can tell, and first puts on that account what the old run had pinned
(the account is the truth: a pin the account lacks would be sent again).
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from bulkpin.client import DecooClient, load_credentials
from bulkpin.destination import Destination
from bulkpin.journal import SCHEMA_VERSION, Journal, PinJournal
from bulkpin.migrate import PinOptions, PinSummary, migrate, write_pin_manifest
from bulkpin.push import PushOptions, push
from bulkpin.push.remote_listing import RemoteSpec
from bulkpin.push.remote_read import RemoteSources
from bulkpin.sources import CidListSource
from bulkpin.sources.http import HttpSource
from bulkpin.sources.objects import push_remote
from bulkpin.unixfs import get_profile, hash_bytes
from tests.fixtures.journals import make_journals as made
from tests.support.push import POLL_INTERVAL, all_pins, manifest, pin_file_requests
from tests.support.service import ServiceProcess

FIXTURES = Path(made.__file__).parent
PROFILE = "unixfs-v0-2015"


def _copy(name: str, service: ServiceProcess, into: Path, schema: str = "2") -> Path:
    """The fixture ``name`` unpacked into ``into``, bound to ``service``'s account."""
    path = into / name.removesuffix(".gz")
    with gzip.open(FIXTURES / name) as packed, path.open("wb") as raw:
        shutil.copyfileobj(packed, raw)
    destination = Destination.of(load_credentials(profile=service.profile_path, env={}))
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (schema,)
        conn.executemany("UPDATE meta SET value = ? WHERE key = ?",
                         [(destination.key, "destination"),
                          (str(destination), "destination_label")])
    return path


def _first_dir(journal: Path, table: str) -> bytes:
    with contextlib.closing(sqlite3.connect(journal)) as conn:
        return bytes(conn.execute(f"SELECT path FROM {table} ORDER BY id").fetchone()[0])


@contextlib.contextmanager
def _old_place(directory: bytes) -> Iterator[Path]:
    """The directory the old run's tree was in, made again (journals key files by path)."""
    path = Path(directory.decode()).parent  # the tree's temporary directory
    if path.exists():
        pytest.skip(f"{path} is taken (another run of this test?)")
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path)


def _cid(data: bytes) -> str:
    return hash_bytes(data, get_profile(PROFILE)).cid


def _held(service: ServiceProcess) -> set[str]:
    return {p["PinHash"] for p in all_pins(service)}


def _requests(service: ServiceProcess, route: str) -> int:
    return sum(service.stats()["requests"].get(route, {}).values())


async def _push(service: ServiceProcess, paths: list[str], journal: Path) -> int:
    credentials = load_credentials(profile=service.profile_path, env={})
    options = PushOptions(journal=journal, wait=True, poll_interval=POLL_INTERVAL)
    async with DecooClient(credentials) as client:
        summary = await push(paths, options, client=client)
    return int(summary.exit_status)


def test_a_push_journal_of_a_tree_resumes(service: ServiceProcess, tmp_path: Path) -> None:
    journal = _copy(made.PUSH_JOURNAL, service, tmp_path)
    names = sorted(made.tree_contents())
    contents = made.tree_contents()
    # What the old run pinned is on the account (pushed from elsewhere).
    seed = made.write_tree(tmp_path / "seed", names[:made.PUSHED_FIRST])
    assert anyio.run(_push, service, [str(seed)], tmp_path / "seed.sqlite") == 0
    before = pin_file_requests(service)

    with _old_place(_first_dir(journal, "roots")) as place:
        tree = made.write_tree(place / "tree")
        assert anyio.run(_push, service, [str(tree)], journal) == 0

    # Only what the account did not hold was sent: the one about to be sent
    # when the old run stopped and the two it had only discovered.
    assert pin_file_requests(service) - before == len(names) - made.PUSHED_FIRST
    assert {_cid(data) for data in contents.values()} <= _held(service)
    assert service.stats()["duplicate_jobs"] == 0
    with Journal(journal, profile_name=PROFILE, read_only=True) as opened:
        assert (opened.meta("schema"), opened.meta("kind")) == (SCHEMA_VERSION, "push")
        assert opened.counts()["pinned"] == len(names)


def test_a_push_journal_of_urls_resumes(service: ServiceProcess, tmp_path: Path) -> None:
    journal = _copy(made.URL_JOURNAL, service, tmp_path)
    old_base = _first_dir(journal, "dirs").decode().removesuffix("/files/")
    port = int(old_base.rsplit(":", 1)[1])
    www = tmp_path / "www"
    www.mkdir()
    contents = made.url_contents()
    for name, data in contents.items():
        (www / name).write_bytes(data)
    names = sorted(contents)
    urls = [f"{old_base}/files/{name}" for name in names]
    credentials = load_credentials(profile=service.profile_path, env={})

    async def push_urls(listed: list[str], journal: Path) -> int:
        listing = journal.with_suffix(".txt")
        listing.write_text("".join(f"{url}\n" for url in listed))
        options = PushOptions(journal=journal, wait=True, poll_interval=POLL_INTERVAL)
        async with HttpSource() as http, DecooClient(credentials) as client:
            summary = await push_remote(RemoteSpec(urls=str(listing)), options,
                                        RemoteSources(None, http), client=client)
        return int(summary.exit_status)

    async def run() -> tuple[int, int, int]:
        from aiohttp import web  # noqa: PLC0415

        app = web.Application()
        app.router.add_static("/files/", www)
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            # The URLs are the journal's keys: serve them where they were.
            await web.TCPSite(runner, "127.0.0.1", port).start()
        except OSError:
            await runner.cleanup()
            pytest.skip(f"port {port} of the old run is taken")
        try:
            seeded = await push_urls(urls[:made.URLS_FIRST], tmp_path / "seed.sqlite")
            before = pin_file_requests(service)
            resumed = await push_urls(urls, journal)
            return seeded, resumed, pin_file_requests(service) - before
        finally:
            await runner.cleanup()

    seeded, resumed, sent = anyio.run(run)
    assert (seeded, resumed) == (0, 0)
    assert sent == len(names) - made.URLS_FIRST
    assert {_cid(data) for data in contents.values()} <= _held(service)
    assert service.stats()["duplicate_jobs"] == 0
    with Journal(journal, profile_name=PROFILE, read_only=True) as opened:
        assert opened.meta("schema") == SCHEMA_VERSION
        assert opened.counts()["pinned"] == len(names)


async def _pin(service: ServiceProcess, listed: list[str], journal: Path) -> PinSummary:
    """A ``pin`` of ``listed`` (a CID list beside ``journal``) to ``service``'s account."""
    listing = journal.with_suffix(".txt")
    listing.write_text("".join(f"{cid}\n" for cid in listed))
    options = PinOptions(journal=journal, wait=True, poll_interval=POLL_INTERVAL)
    credentials = load_credentials(profile=service.profile_path, env={})
    async with DecooClient(credentials) as client:
        return await migrate(CidListSource(listing), options, source_key="fixture",
                             client=client)


def test_a_pin_journal_resumes(service: ServiceProcess, tmp_path: Path) -> None:
    journal = _copy(made.PIN_JOURNAL, service, tmp_path)
    cids = made.pin_cids()

    assert anyio.run(_pin, service, cids[:made.PINNED_FIRST], tmp_path / "seed.sqlite"
                     ).exit_status == 0
    before = _requests(service, "pinByHash")
    assert anyio.run(_pin, service, cids, journal).exit_status == 0

    # The one requested when the old run stopped is looked up, not asked twice.
    assert _requests(service, "pinByHash") - before == len(cids) - made.PINNED_FIRST
    assert set(cids) <= _held(service)
    assert service.stats()["duplicate_jobs"] == 0
    with PinJournal(journal) as opened:
        assert (opened.meta("schema"), opened.meta("kind")) == (SCHEMA_VERSION, "pin")
        assert opened.meta("profile") is None  # no longer how a pin journal is told
        assert opened.counts()["pinned"] == len(cids)


def test_a_v3_pin_journal_resumes_pinning_nothing_twice(service: ServiceProcess,
                                                        tmp_path: Path) -> None:
    # Its CIDs were in schema 3's pins table; they are items now (schema 4).
    journal = _copy(made.PIN_V3_JOURNAL, service, tmp_path, schema="3")
    cids = made.pin_v3_cids()
    assert anyio.run(_pin, service, cids[:made.PINNED_FIRST], tmp_path / "seed.sqlite"
                     ).exit_status == 0
    summary = anyio.run(_pin, service, cids, journal)

    # The one about to be requested, the refused one and the one only
    # discovered are requested, once each; nothing the account held.
    assert summary.pin_requests == made.PIN_V3_CIDS - made.PINNED_FIRST
    assert set(cids) <= _held(service)
    assert service.stats()["duplicate_jobs"] == 0
    # The old listing's bad line is still the journal's: exit 1, nothing else failed.
    counts = summary.counts
    assert (summary.exit_status, counts["pinned"], counts["failed"], counts["bad"]) == (
        1, made.PIN_V3_CIDS, 0, 1)
    with PinJournal(journal) as opened:
        assert opened.meta("schema") == SCHEMA_VERSION
        write_pin_manifest(opened, tmp_path / "resumed.jsonl")
    rows = {row["cid"]: row for row in manifest(tmp_path / "resumed.jsonl") if row["cid"]}
    assert {row["status"] for row in rows.values()} == {"pinned"}
    assert all(row["pinned"] for row in rows.values())
    first, about = cids[0], cids[made.PINNED_FIRST]
    assert (rows[first]["name"], rows[first]["attempts"]) == ("first one", 1)  # not sent again
    assert (rows[about]["meta"], rows[about]["origin"]) == ({"app": "fixture", "n": "1"},
                                                            "psa:fixture")
