"""Receiving a ``pinFile`` body: streamed, hashed and written as it arrives.

The ``file`` part's bytes are copied into one of two page-aligned stages of
:data:`STAGE` bytes; when a stage is full a worker thread feeds it to the CID
engine and writes it to the temporary blob (with O_DIRECT) while the event
loop fills the other. Memory is two stages per upload, whatever the file's size.

The documented order puts ``cid`` after ``file``, so the profile is not known
while the file streams: it is hashed with the profile a ``cid`` sent before
the file implies, else with the default (Decoo's), and re-read from the
temporary blob in the rare case the claim turns out to use another profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mmap
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..unixfs import DEFAULT_PROFILE, CidProfile, FileBuilder, FileResult, ProfileError
from ..unixfs.profiles import profile_for_cid
from .blobs import TempBlob
from .errors import BadRequest, PayloadTooLarge
from .form import FormReader, PartInfo, form_boundary
from .state import ServiceState

#: Bytes per stage: a multiple of every profile's chunk size and of O_DIRECT's block.
STAGE = 4 << 20
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
    temp: TempBlob | None = None
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


def _absorb(builder: FileBuilder, temp: TempBlob, stage: memoryview) -> None:
    """On a worker thread: one stage into the CID engine and the file."""
    builder.update(stage)
    temp.write(stage)


async def _receive_file(
    form: FormReader, state: ServiceState, profile: CidProfile, limit: int | None
) -> tuple[TempBlob, FileResult]:
    loop = asyncio.get_running_loop()
    temp = await loop.run_in_executor(state.hashers, state.blobs.new_temp)
    builder = FileBuilder(profile)
    stages = (mmap.mmap(-1, STAGE), mmap.mmap(-1, STAGE))
    current, filled, size = 0, 0, 0
    busy: asyncio.Future[None] | None = None
    try:
        async for piece in form.body():
            size += len(piece)
            if limit is not None and size > limit:
                raise PayloadTooLarge(f"file is over the {limit}-byte upload limit")  # noqa: TRY301
            view = memoryview(piece)
            while view:
                n = min(len(view), STAGE - filled)
                stages[current][filled : filled + n] = view[:n]
                filled += n
                view = view[n:]
                if filled == STAGE:
                    if busy is not None:
                        await busy
                    busy = loop.run_in_executor(
                        state.hashers, _absorb, builder, temp, memoryview(stages[current])
                    )
                    current, filled = 1 - current, 0
        if busy is not None:
            await busy
        busy = loop.run_in_executor(
            state.hashers, _absorb, builder, temp, memoryview(stages[current])[:filled]
        )
        await busy
        busy = None
        result = builder.finish()
    except BaseException:
        # A thread may still be busy with a stage: let it finish before the file goes.
        if busy is not None:
            await asyncio.wait([busy])
        await loop.run_in_executor(state.hashers, temp.discard)
        raise
    finally:
        if busy is None or busy.done():
            for stage in stages:
                with contextlib.suppress(BufferError):  # a view still alive: GC frees it
                    stage.close()
    return temp, result


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


async def receive_upload(request: web.Request, state: ServiceState) -> ReceivedUpload:
    """Read the whole form; on any error the temporary blob is already gone."""
    limit = state.config.max_upload_size
    if limit is not None and (request.content_length or 0) > limit + _FIELDS_SLACK:
        raise PayloadTooLarge(f"body is over the {limit}-byte upload limit")
    form = FormReader(
        request.content, form_boundary(request.headers.get("Content-Type", "")),
        state.config.idle_timeout,
    )
    upload = ReceivedUpload()
    try:
        while (info := await form.next_part()) is not None:
            await _take_part(form, info, upload, state)
    except BaseException:
        if upload.temp is not None:
            upload.temp.discard()
        raise
    return upload
