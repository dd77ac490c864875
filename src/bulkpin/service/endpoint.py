"""The Endpoint routes: ``pinFile`` (upload) and ``pinByHash``."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from .db import Database
from .errors import BadRequest, CidMismatch, Forbidden, json_response
from .params import clean_name, extra_metadata, format_date, parse_cid, read_json
from .state import STATE
from .upload import (
    claimed_profile,
    discard,
    metadata_from,
    parse_metadata,
    receive_upload,
)

routes = web.RouteTableDef()


@routes.post("/pinning/pinFile", name="pinFile")
async def pin_file(request: web.Request) -> web.Response:
    """Store an uploaded file if it hashes to the signed ``cid``; queue its pin job."""
    state = request.app[STATE]
    account = await state.endpoint_caller(request)
    upload = await receive_upload(request, state)
    temp = upload.temp
    loop = asyncio.get_running_loop()
    try:
        if temp is None or upload.result is None:
            raise BadRequest("missing 'file' part")
        for required in ("cid", "secret"):
            if required not in upload.fields:
                raise BadRequest(f"missing {required!r} part")
        claimed = upload.fields["cid"].strip()
        cid = parse_cid(claimed)
        metadata = parse_metadata(upload.fields.get("decooMetadata"))
        profile = claimed_profile(claimed, metadata)
        if not account.verify(claimed, upload.fields["secret"].strip()):
            raise Forbidden("secret is not this account's signature of the cid")
        result = upload.result
        if profile != upload.profile:
            result = await loop.run_in_executor(state.hashers, temp.rehash, profile)
        if result.cid != cid:
            raise CidMismatch(f"the file's CID is {result.cid}, not {cid}")
        await loop.run_in_executor(state.writers, temp.commit, cid)
        name = clean_name(metadata.name or upload.filename or cid)
        now_ms = state.now_ms()
        await state.db.run(
            Database.add_file_pin, account.id, cid, result.size, name, now_ms,
            now_ms + state.step_ms, _stored_meta(upload.fields.get("decooMetadata")),
        )
    finally:
        if temp is not None:
            await discard(state, temp)
    state.jobs_changed.set()
    return json_response({"PinHash": cid, "PinSize": result.size, "PinDate": format_date(now_ms)})


def _stored_meta(text: str | None) -> str | None:
    """``decooMetadata`` (already checked by ``parse_metadata``) as the pin's PSA meta."""
    return None if text is None else extra_metadata(json.loads(text))


@routes.post("/pinning/pinByHash", name="pinByHash")
async def pin_by_hash(request: web.Request) -> web.Response:
    """Queue a job to pin content by CID; it pins once the content is in the store."""
    state = request.app[STATE]
    account = await state.endpoint_caller(request)
    body = await read_json(state.paced_body(request))
    if not isinstance(body, dict):
        raise BadRequest("body: expected a JSON object")
    claimed, secret = body.get("hashToPin"), body.get("secret")
    if not isinstance(claimed, str):
        raise BadRequest("hashToPin: expected a CID string")
    if not isinstance(secret, str):
        raise BadRequest("secret: expected a string")
    cid = parse_cid(claimed, "hashToPin")
    raw_metadata = body.get("decooMetadata")
    metadata = metadata_from(raw_metadata) if raw_metadata is not None else None
    if not account.verify(claimed.strip(), secret.strip()):
        raise Forbidden("secret is not this account's signature of hashToPin")
    now_ms = state.now_ms()
    name = clean_name(metadata.name if metadata and metadata.name else cid)
    job_id = await state.db.run(
        Database.add_hash_job, account.id, cid, name, now_ms, now_ms + state.step_ms,
        state.search_deadline_ms(now_ms), meta=extra_metadata(raw_metadata),
    )
    state.jobs_changed.set()
    state.content_wanted.set()
    return json_response({"HashToPin": cid, "JobId": job_id, "JobStatus": "queued"})
