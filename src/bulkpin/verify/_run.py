"""``verify_all``: the verification run, a plug-in of the one run lifecycle.

::

    input ─▶ sample ─▶ journal check ─▶ fetch_verify workers ─▶ report
    (_items)  (_sample)  (proven? changed on disk?)  (verify_cid)

It is push's and pin's run (:func:`bulkpin.core.lifecycle.run`), told by
:class:`_VerifyPlan` which journal and stages: the lister and a
:func:`~bulkpin.core.stages.worker_pool` of gateway checks, joined by a
bounded stream, with the progress ticker, in :func:`~bulkpin.core.stages.run_stages`.
Nothing is sent to Decoo: the run has no client, so the lifecycle checks no
destination and lists no account. Requests are retried by the client's policy
inside :func:`~._verify.verify_cid`; what is still not proven is checked
again by the next run (DESIGN's per-run tier), nothing here loops.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from functools import partial
from pathlib import Path

import aiohttp
import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..core.crashpoints import crash_point
from ..core.errors import RunAborted
from ..core.lifecycle import Ended, run
from ..core.stages import abandoned_notice, run_stages, ticker, worker_pool
from ..destination import Destination
from ..journal import default_verify_journal_path
from ..manifests.rows import ManifestReadError, ManifestWriter
from ..push.account_index import AccountIndex
from ..push.manifest import ManifestWriteError
from ..sources import BadLine, SourceError
from ..unixfs import CidProfile
from ._accounting import VerifyAccounting
from ._disk import check_on_disk
from ._events import BadLineEvent, CidEvent, NoticeEvent, ProgressEvent, VerifyEvent
from ._items import VerifyInput, VerifyItem
from ._journal import REPORT_COLUMNS, VerifyJournal, describe, outcome_name, record_outcome
from ._options import VerifyOptions
from ._summary import VerifySummary
from ._verify import verify_cid

__all__ = ["verify_all"]


class _Stages:
    """The stages of one verification and what they share."""

    def __init__(self, plan: _VerifyPlan, journal: VerifyJournal) -> None:
        self.source = plan.source
        self.options = options = plan.options
        self.journal = journal
        self.session = plan.session
        self.profile = plan.profile if options.check_disk else None
        self.emit = emit = plan.emit
        self.stop = plan.stop
        self.acct = VerifyAccounting(emit)
        self.aborted: RunAborted | None = None
        self.poll_timed_out = False  # no jobs to follow
        self._failed: str | None = None

    @property
    def source_failed(self) -> str | None:
        """Why reading the input stopped part-way (resumable), or None."""
        return self._failed

    def _bad(self, line: BadLine) -> None:
        self.acct.bad_line(BadLineEvent(line.origin, line.line, line.text, line.reason))

    def _items(self) -> AsyncGenerator[VerifyItem, None]:
        items = self.source.items(self._bad)
        sample = self.options.sample
        return sample.select(items) if sample is not None else items

    async def list(self, send: MemoryObjectSendStream[VerifyItem]) -> None:
        """Take the input's items, skip what is proven, hand the rest to the workers."""
        try:
            async with send, aclosing(self._items()) as items:
                async for item in items:
                    if self.stop.is_set():
                        return
                    if not await self._take(item):
                        continue
                    await send.send(item)
        except anyio.BrokenResourceError:
            return  # the workers stopped: the run is stopping
        except (OSError, ManifestReadError, SourceError) as exc:
            self._failed = f"reading {self.source.label} failed: {exc}"
            return
        self.acct.listing_done = True

    async def _take(self, item: VerifyItem) -> bool:
        """Record ``item`` as seen; whether it is to be checked now."""
        proof = self.journal.see(item.cid, item.name, item.size)
        self.journal.commit_if_due()
        if proof.seen_now:
            return False  # listed twice (copies of one file): one check
        self.acct.take()
        if self.profile is not None and item.path is not None:
            changed = await check_on_disk(item, self.profile)
            if changed is not None:
                assert item.path is not None
                self.journal.record_changed(item.path, item.name, item.cid, changed.disk,
                                            changed.reason)
                self.acct.changed_file(changed)
        since = self.options.since
        if proof.outcome == "retrievable" and (
                since is None or (proof.proven_at is not None and proof.proven_at >= since)):
            self.acct.done(CidEvent(item.cid, item.name, "proven"))
            return False
        return True

    async def check(self, item: VerifyItem) -> None:
        """Prove one CID against the gateways; its outcome is committed before it is told."""
        self.acct.begin()
        try:
            outcome = await verify_cid(self.session, self.options.gateways, item.cid,
                                       expected_size=item.size,
                                       answer_timeout=self.options.timeout)
            record_outcome(self.journal, outcome)
            await self.journal.sync()
            crash_point("verified")
        finally:
            self.acct.end()
        self.acct.done(CidEvent(item.cid, item.name, outcome_name(outcome), outcome,
                                describe(outcome)))

    async def checks(self, work: MemoryObjectReceiveStream[VerifyItem]) -> None:
        """The gateway checks, ``concurrency`` at once."""
        grace = self.options.grace
        await worker_pool(
            work, self.check, concurrency=self.options.concurrency, stop=self.stop,
            # A check cut off records nothing: the next run checks it again.
            grace=grace, in_flight=lambda: self.acct.in_flight,
            on_abandon=abandoned_notice(self.emit, grace, "check(s)"),
            after_each=self.journal.commit_if_due,
        )

    async def main(self) -> None:
        """Every stage, until the input's last CID is checked, or the run stops."""
        size = self.options.concurrency * 2
        send, receive = anyio.create_memory_object_stream[VerifyItem](size)
        self.aborted = await run_stages([partial(self.list, send), partial(self.checks, receive)],
                                        self.tick)

    async def tick(self) -> None:
        """Progress events, until the run ends."""
        await ticker(lambda: ProgressEvent(self.acct.snapshot()), self.emit,
                     self.acct.stop_asked, self.stop)


class _VerifyPlan:
    """A verification, as the lifecycle (:mod:`bulkpin.core.lifecycle`) runs it."""

    def __init__(self, source: VerifyInput, options: VerifyOptions,
                 session: aiohttp.ClientSession, profile: CidProfile | None,
                 emit: Callable[[VerifyEvent], None], stop: anyio.Event) -> None:
        self.source = source
        self.options = options
        self.session = session
        self.profile = profile
        self.emit = emit
        self.stop = stop
        self.journal_path: Path | None = None
        self._stages: _Stages | None = None

    def open_journal(self, destination: Destination | None) -> VerifyJournal:
        self.journal_path = self.options.journal or default_verify_journal_path(
            self.source.label, self.options.sample)
        return VerifyJournal(self.journal_path)

    def begin(self, journal: VerifyJournal) -> None:
        """Nothing before the stages: there is no account to list."""

    def stages(self, journal: VerifyJournal, index: AccountIndex | None) -> _Stages:
        self._stages = _Stages(self, journal)
        return self._stages

    async def finish(self, journal: VerifyJournal, stages: _Stages) -> None:
        """Nothing after the stages."""

    def write_manifest(self, journal: VerifyJournal, path: Path) -> None:
        try:
            writer = ManifestWriter(REPORT_COLUMNS, path)
            try:
                for row in journal.report_rows():
                    writer.write(row)
                writer.commit()
            except BaseException:
                writer.abort()
                raise
        except (OSError, ManifestReadError) as exc:
            raise ManifestWriteError(
                f"cannot write the report {path}: {exc}",
                "run the same command again once there is room (what is proven is not"
                " checked again; the report is written from the journal)") from exc

    def failures(self, counts: dict[str, int]) -> str | None:
        parts = [f"{counts[name]} CID(s) {name}" for name in
                 ("incomplete", "corrupt", "wrong-size", "unreachable") if counts[name]]
        if counts["changed"]:
            parts.append(f"{counts['changed']} file(s) changed on disk since the push")
        bad = self._stages.acct.bad_lines if self._stages is not None else 0
        if bad:
            parts.append(f"{bad} line(s) of the input are no CID")
        return ", ".join(parts) or None

    def summary(self, journal: VerifyJournal, stages: _Stages, ended: Ended) -> VerifySummary:
        assert self.journal_path is not None
        sample = self.options.sample
        return VerifySummary(
            exit_status=ended.status, reason=ended.reason, source=self.source.label,
            gateways=self.options.gateways, snapshot=stages.acct.snapshot(),
            counts=ended.counts, journal=self.journal_path, report=ended.manifest,
            failures=journal.failures(), corrupt_gateways=journal.corrupt_gateways(),
            sample=str(sample) if sample is not None else None,
        )


async def verify_all(
    source: VerifyInput,
    options: VerifyOptions,
    *,
    profile: CidProfile | None = None,
    session: aiohttp.ClientSession | None = None,
    on_event: Callable[[VerifyEvent], None] | None = None,
    stop: anyio.Event | None = None,
) -> VerifySummary:
    """Prove every CID of ``source`` (or its sample) retrievable from ``options.gateways``.

    Each CID ends retrievable, incomplete, corrupt, wrong-size or unreachable
    (:func:`~._verify.verify_cid`), recorded in the verification journal;
    a CID an earlier run proved retrievable is not checked again (unless
    before ``options.since``). With ``profile`` (the push's CID profile), the
    files of a push journal whose stat changed are hashed again and told if
    their CID on disk differs. ``session`` defaults to one of its own. Setting
    ``stop`` ends the run early and cleanly: no new check starts, checks in
    flight get ``options.grace`` seconds, the journal is committed, exit 3.
    """
    if not options.gateways:
        raise ValueError("verify_all: no gateway given")
    emit = on_event or (lambda event: None)
    stop = stop or anyio.Event()

    async def run_on(own: aiohttp.ClientSession) -> VerifySummary:
        plan = _VerifyPlan(source, options, own, profile, emit, stop)
        return await run(plan, client=None, options=options, stop=stop,
                         say=lambda m: emit(NoticeEvent(m)),
                         warn=lambda m: emit(NoticeEvent(m, "warning")))

    if session is not None:
        return await run_on(session)
    async with aiohttp.ClientSession() as own:
        return await run_on(own)
