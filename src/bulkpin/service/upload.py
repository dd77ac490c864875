"""Receiving a ``pinFile`` body: streamed, hashed and written as it arrives.

The ``file`` part's bytes are copied into a ring of up to :data:`STAGES`
page-aligned stages of :data:`STAGE` bytes (all but the first from the
service's shared budget: ``stage_budget.py``). A full stage is hashed on a
hashing thread (stages hold whole chunks, so several are hashed at once and
their leaves joined in order) and written to the temporary blob with O_DIRECT
by a writing thread, while the event loop fills the next. Memory is the ring,
per upload, whatever the file's size, and the budget bounds the rings' sum.
A file that ends within its first stage (most files of a bulk push) never
reaches a temporary file: it is hashed in memory and, once its CID is
verified, written in one step (``MemoryBlob``).

The documented order puts ``cid`` after ``file``, so the profile is not known
while the file streams: it is hashed with the profile a ``cid`` sent before
the file implies, else with the default (Decoo's), and hashed again in the
rare case the claim turns out to use another profile.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import mmap
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..unixfs import DEFAULT_PROFILE, CidProfile, FileBuilder, FileResult, ProfileError
from ..unixfs.file_builder import leaf_links
from ..unixfs.node import Link
from ..unixfs.profiles import profile_for_cid
from .blobs import Blob, MemoryBlob, TempBlob
from .errors import BadRequest, PayloadTooLarge
from .form import FormReader, PartInfo, form_boundary
from .state import ServiceState

log = logging.getLogger("bulkpin.service")

#: Bytes per stage: a multiple of every profile's chunk size and of O_DIRECT's
#: block. Each stage costs two thread hand-offs; 1 MiB stages were a fifth
#: slower on a 1 GiB upload, 2 to 8 MiB all alike within the noise.
STAGE = 4 << 20
#: Stages per upload: one filling while the others are hashed and written.
STAGES = 4

#: Most bytes one read from an upload's connection may return.
READ_SIZE = 1 << 20
#: Temporary blobs this large are removed after the answer, not before.
BACKGROUND_DISCARD = 64 << 20
#: ``cid``, ``secret`` and ``decooMetadata`` are small; longer ones are refused.
MAX_FIELD_BYTES = 64 * 1024
#: Room for the non-file parts when judging a body by its Content-Length.
_FIELDS_SLACK = 4 * MAX_FIELD_BYTES
FIELDS = ("cid", "secret", "decooMetadata")


@dataclass
class Metadata:
    """``decooMetadata``: the pin's name and, for non-default CIDs, the profile."""

    name: str | None = None
    cid_profile: str | None = None


@dataclass
class ReceivedUpload:
    """What a ``pinFile`` body held once read to the end."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    temp: Blob | None = None
    result: FileResult | None = None
    #: The profile ``result`` was computed with.
    profile: CidProfile = DEFAULT_PROFILE


def parse_metadata(text: str | None) -> Metadata:
    """Read a ``decooMetadata`` JSON object; 400 if it is anything else."""
    if text is None:
        return Metadata()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest("decooMetadata: not JSON") from None
    return metadata_from(value)


def metadata_from(value: Any) -> Metadata:
    """Check a decoded ``decooMetadata`` value."""
    if not isinstance(value, dict):
        raise BadRequest("decooMetadata: expected a JSON object")
    name, profile = value.get("name"), value.get("cidProfile")
    if name is not None and not isinstance(name, str):
        raise BadRequest("decooMetadata.name: expected a string")
    if profile is not None and not isinstance(profile, str):
        raise BadRequest("decooMetadata.cidProfile: expected a string")
    return Metadata(name, profile)


def claimed_profile(cid: str, metadata: Metadata) -> CidProfile:
    """The profile a claimed CID was computed with; 400 for an unknown profile name."""
    try:
        return profile_for_cid(cid, metadata.cid_profile)
    except ProfileError as exc:
        raise BadRequest(f"decooMetadata.cidProfile: {exc}") from None


async def _read_field(form: FormReader, info: PartInfo) -> str:
    data = bytearray()
    async for piece in form.body():
        data += piece
        if len(data) > MAX_FIELD_BYTES:
            raise BadRequest(f"part {info.name!r} is over {MAX_FIELD_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"part {info.name!r} is not UTF-8") from None


class _Lane:
    """Blocking steps run strictly in order on a shared thread pool.

    A lane holds a pool thread only while it has steps queued, and runs them
    back to back on it, so consecutive stages never wait for the event loop to
    hand the next one over; once its queue is empty the thread goes back to
    the pool for other uploads. Writes go through a lane (they must land in
    order); hashing does not need one, as stages are hashed independently.

    After a step fails, later steps are skipped and fail with the same error.
    """

    def __init__(self, pool: Executor, step: Callable[[memoryview], object]) -> None:
        self._loop = asyncio.get_running_loop()
        self._pool = pool
        self._step = step
        self._queue: collections.deque[tuple[memoryview, asyncio.Future[None]]] = (
            collections.deque()
        )
        self._lock = threading.Lock()
        self._running = False
        self._error: BaseException | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, view: memoryview) -> asyncio.Future[None]:
        """Queue ``step(view)``; the future resolves once it has run."""
        done: asyncio.Future[None] = self._loop.create_future()
        with self._lock:
            self._queue.append((view, done))
            if self._running:
                return done
            self._running = True
        self._idle.clear()
        try:
            self._pool.submit(self._drain)
        except RuntimeError as exc:  # the pool is shut down: the service is stopping
            self._error = exc
            self._drain()
        return done

    async def drained(self) -> None:
        """Return once no step is queued or running."""
        await self._idle.wait()

    def _on_idle(self) -> None:
        with self._lock:
            if not self._running:  # else a step was queued since: not idle after all
                self._idle.set()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._running = False
                    break
                view, done = self._queue.popleft()
            if self._error is None:
                try:
                    self._step(view)
                except BaseException as exc:  # handed to the task awaiting this step
                    self._error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                self._loop.call_soon_threadsafe(_resolve, done, self._error)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_idle)


def _resolve(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.cancelled():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


async def discard(state: ServiceState, temp: Blob) -> None:
    """Remove a temporary blob: before answering if small, else off the request's path.

    Freeing a large file takes a while (a fifth of a second per GiB on ext4
    mounted with ``discard``) and no answer depends on it, so a large one is
    left to a writer thread; the writers pool is shut down with ``wait=True``,
    so a service that stops still finishes the job. A small one is gone
    before the client hears back, so what it sees is what is stored.
    """
    if not temp.on_disk:
        temp.discard()
        return
    loop = asyncio.get_running_loop()
    try:
        if temp.size < BACKGROUND_DISCARD:
            await loop.run_in_executor(state.writers, temp.discard)
        else:
            state.writers.submit(temp.discard).add_done_callback(_log_failure)
    except RuntimeError:  # the pool is shut down: the service is stopping
        temp.discard()


def _log_failure(done: Future[None]) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        log.warning("could not remove a temporary upload: %s", error)


async def _quiesce(lane: _Lane, pending: list[asyncio.Future[Any]]) -> None:
    """Wait until no thread writes the file any more; keep step errors quiet.

    Hashing threads may still read a stage after this: they hold a view of it,
    which keeps its memory alive (``close`` below refuses while views exist).
    """
    await lane.drained()
    for done in pending:
        if done.done() and not done.cancelled():
            done.exception()


#: In-memory uploads up to this size are hashed on the event loop: a thread
#: hand-off costs more than hashing them does.
INLINE_HASH = 64 * 1024


class _FileReceiver:
    """One ``file`` part on its way in: staged, hashed and written (see the module doc)."""

    def __init__(self, state: ServiceState, profile: CidProfile) -> None:
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._profile = profile
        self._builder = FileBuilder(profile)
        # The temporary file and its writing lane are made once a stage fills: an
        # upload that ends within the first stage stays in memory (MemoryBlob).
        self._temp: TempBlob | None = None
        self._writing: _Lane | None = None
        # Stages hold whole chunks, so their leaves are independent: stages are
        # hashed in parallel and their leaves joined in order. (Both standard
        # profiles' chunk sizes divide STAGE; another profile hashes in order.)
        self._parallel = STAGE % profile.chunk_size == 0
        # Anonymous maps are page-aligned (O_DIRECT needs that) and cost nothing
        # until touched; they are made as the upload gets that far, so a small
        # upload maps one stage and touches only the pages it fills.
        self._stages = [mmap.mmap(-1, STAGE)]
        #: Stages beyond the first, taken from the service's budget (given back in close).
        self._extra = 0
        #: Stages handed over, oldest first: (its leaves, or its bytes to hash; its write).
        self._inflight: collections.deque[
            tuple[asyncio.Future[list[Link]] | memoryview, asyncio.Future[None]]
        ] = collections.deque()
        self._current = self._filled = 0

    async def feed(self, piece: bytes | memoryview) -> None:
        """Take the next bytes of the file."""
        view = memoryview(piece)
        while view:
            n = min(len(view), STAGE - self._filled)
            self._stages[self._current][self._filled : self._filled + n] = view[:n]
            self._filled += n
            view = view[n:]
            if self._filled == STAGE:
                await self._hand_over()

    async def _hand_over(self) -> None:
        """The current stage is full: have it hashed and written, move to the next."""
        state, loop = self._state, self._loop
        if self._writing is None:
            creating = loop.run_in_executor(state.writers, state.blobs.new_temp)
            try:
                self._temp = await asyncio.shield(creating)
            except asyncio.CancelledError:
                # The file is made all the same: keep it, so that abort removes it.
                with contextlib.suppress(Exception):
                    self._temp = await creating
                raise
            self._writing = _Lane(state.writers, self._temp.write)
        full = memoryview(self._stages[self._current])
        hashed: asyncio.Future[list[Link]] | memoryview = (
            loop.run_in_executor(state.hashers, leaf_links, self._profile, full)
            if self._parallel else full
        )
        self._inflight.append((hashed, self._writing.submit(full)))
        # The ring grows (up to STAGES) at its end, and only by stages the
        # budget has free; else the upload refills the stages it has.
        following = self._current + 1
        if (following == len(self._stages) < STAGES
                and self._state.stage_budget.try_take()):
            self._extra += 1
            self._stages.append(mmap.mmap(-1, STAGE))
        self._current, self._filled = following % len(self._stages), 0
        if len(self._inflight) == len(self._stages):  # the next stage is still in use
            await self._retire_oldest()

    async def _retire_oldest(self) -> None:
        hashed, written = self._inflight.popleft()
        if isinstance(hashed, memoryview):
            await self._loop.run_in_executor(self._state.hashers, self._builder.update, hashed)
        else:
            self._builder.add_leaves(await hashed)
        await written

    async def finish(self) -> tuple[Blob, FileResult]:
        """The file ended: its blob and CID, once every stage is hashed and written."""
        if self._writing is None:
            return await self._in_memory()
        assert self._temp is not None
        tail = memoryview(self._stages[self._current])[: self._filled]
        self._inflight.append((tail, self._writing.submit(tail)))
        while self._inflight:
            await self._retire_oldest()
        return self._temp, self._builder.finish()

    async def _in_memory(self) -> tuple[MemoryBlob, FileResult]:
        """The upload ended within its first stage: that stage becomes a MemoryBlob."""
        blob = MemoryBlob(self._state.blobs, self._stages.pop(), self._filled)
        try:
            view = blob.view()
            try:
                if self._filled <= INLINE_HASH:
                    self._builder.update(view)
                else:
                    await self._loop.run_in_executor(
                        self._state.hashers, self._builder.update, view
                    )
            finally:
                with contextlib.suppress(BufferError):  # still hashed: discard lets GC free it
                    view.release()
            return blob, self._builder.finish()
        except BaseException:
            blob.discard()
            raise

    async def abort(self) -> None:
        """Stop: wait until no thread writes the file any more, then remove it."""
        if self._writing is not None:
            steps = [f for pair in self._inflight for f in pair if isinstance(f, asyncio.Future)]
            await _quiesce(self._writing, steps)
        if self._temp is not None:
            await discard(self._state, self._temp)

    def close(self) -> None:
        """Unmap the stages (those still viewed are left to the GC); give back the extras."""
        for stage in self._stages:
            with contextlib.suppress(BufferError):
                stage.close()
        self._state.stage_budget.give(self._extra)
        self._extra = 0


async def _receive_file(
    form: FormReader, state: ServiceState, profile: CidProfile, limit: int | None
) -> tuple[Blob, FileResult]:
    receiver = _FileReceiver(state, profile)
    size = 0
    try:
        async for piece in form.body():
            size += len(piece)
            if limit is not None and size > limit:
                raise PayloadTooLarge(f"file is over the {limit}-byte upload limit")  # noqa: TRY301
            await receiver.feed(piece)
        return await receiver.finish()
    except BaseException:
        await receiver.abort()
        raise
    finally:
        receiver.close()


async def _take_part(
    form: FormReader, info: PartInfo, upload: ReceivedUpload, state: ServiceState
) -> None:
    if info.name == "file":
        if upload.temp is not None:
            raise BadRequest("more than one 'file' part")
        upload.filename = info.filename
        if "cid" in upload.fields:
            # Judged (and refused if bad) once the whole form is read.
            with contextlib.suppress(ProfileError):
                upload.profile = profile_for_cid(upload.fields["cid"].strip())
        upload.temp, upload.result = await _receive_file(
            form, state, upload.profile, state.config.max_upload_size
        )
    elif info.name in FIELDS:
        if info.name in upload.fields:
            raise BadRequest(f"more than one {info.name!r} part")
        upload.fields[info.name] = await _read_field(form, info)
    else:
        raise BadRequest(f"unexpected part {info.name!r}; expected file, {', '.join(FIELDS)}")


def _widen_reads(request: web.Request) -> None:
    """Let the connection read up to :data:`READ_SIZE` bytes per system call.

    asyncio's selector transport reads at most 256 KiB at a time, and every
    read costs a pass through aiohttp's parser and a wake-up of this handler:
    on a large upload that per-read work, not the copying, is what the event
    loop spends its time on. The attribute is asyncio's own; other transports
    (uvloop) lack it and are left as they are.
    """
    transport = request.transport
    if transport is not None and isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = READ_SIZE  # type: ignore[attr-defined]


async def receive_upload(request: web.Request, state: ServiceState) -> ReceivedUpload:
    """Read the whole form; on any error the temporary blob is removed (see :func:`discard`)."""
    limit = state.config.max_upload_size
    if limit is not None and (request.content_length or 0) > limit + _FIELDS_SLACK:
        raise PayloadTooLarge(f"body is over the {limit}-byte upload limit")
    form = FormReader(
        state.paced_body(request), form_boundary(request.headers.get("Content-Type", ""))
    )
    _widen_reads(request)
    upload = ReceivedUpload()
    try:
        while (info := await form.next_part()) is not None:
            await _take_part(form, info, upload, state)
    except BaseException:
        if upload.temp is not None:
            await discard(state, upload.temp)
        raise
    return upload
