"""Pinning Service API pins in the database: every pin job is a PSA pin.

A PSA pin request and a ``pinByHash`` job are the same thing to the account
(the contract says so), and ``pinFile`` makes a job too; so ``/psa/pins``
lists the ``jobs`` table: ``requestid`` is the job id, ``status`` its status,
``created`` its creation time (unique per account: see
:meth:`~.db.Database.job_created_ms`). Removing a pin removes its job and the
pin row that job made, so ``pinList`` and ``pinJobs`` agree with ``/psa``.

Functions here take a :class:`~.db.Database` and run on its thread
(``AsyncDatabase.run``), like its own methods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .db import Database
from .psa_params import PinFilter, PinRequest

_COLUMNS = "uid, status, cid, name, created_ms, meta, origins, detail"


@dataclass(frozen=True)
class PsaPin:
    """A job as ``PinStatus`` shows it."""

    requestid: str
    status: str
    cid: str
    name: str
    created_ms: int
    meta: dict[str, str]
    origins: list[str]
    #: Why the content has not been fetched (yet), if known.
    detail: str | None


def _row(row: tuple[str, str, str, str, int, str | None, str | None, str | None]) -> PsaPin:
    uid, status, cid, name, created_ms, meta, origins, detail = row
    return PsaPin(
        uid, status, cid, name, created_ms,
        json.loads(meta) if meta else {}, json.loads(origins) if origins else [], detail,
    )


def _casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def list_pins(db: Database, account_id: int, flt: PinFilter) -> tuple[int, list[PsaPin]]:
    """(how many jobs match ``flt``, the newest ``flt.limit`` of them)."""
    conn = db.connection
    # SQLite's lower() and NOCASE fold ASCII only; names are any Unicode.
    conn.create_function("casefold", 1, _casefold, deterministic=True)
    where = ["account_id = ?"]
    args: list[object] = [account_id]
    if flt.cids:
        where.append(f"cid IN ({', '.join('?' * len(flt.cids))})")
        args += flt.cids
    where.append(f"status IN ({', '.join('?' * len(flt.statuses))})")
    args += flt.statuses
    if flt.name is not None:
        # instr(), not LIKE: a name may hold % and _.
        where.append({
            "exact": "name = ?",
            "iexact": "casefold(name) = ?",
            "partial": "instr(name, ?) > 0",
            "ipartial": "instr(casefold(name), ?) > 0",
        }[flt.match])
        args.append(flt.name.casefold() if flt.match.startswith("i") else flt.name)
    if flt.before_ms is not None:
        where.append("created_ms < ?")
        args.append(flt.before_ms)
    if flt.after_ms is not None:
        where.append("created_ms > ?")
        args.append(flt.after_ms)
    for key, value in flt.meta.items():
        where.append(
            "EXISTS (SELECT 1 FROM json_each(jobs.meta) AS m WHERE m.key = ? AND m.value = ?)"
        )
        args += (key, value)
    clause = " AND ".join(where)
    (count,) = conn.execute(f"SELECT COUNT(*) FROM jobs WHERE {clause}", args).fetchone()  # noqa: S608
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE {clause} "  # noqa: S608
        "ORDER BY created_ms DESC, id DESC LIMIT ?",
        [*args, flt.limit],
    ).fetchall()
    return int(count), [_row(r) for r in rows]


def get_pin(db: Database, account_id: int, requestid: str) -> PsaPin | None:
    """The account's job ``requestid``, or None."""
    row = db.connection.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE uid = ? AND account_id = ?",  # noqa: S608
        (requestid, account_id),
    ).fetchone()
    return None if row is None else _row(row)


def _add(
    db: Database, account_id: int, pin: PinRequest, now_ms: int, due_ms: int,
    deadline_ms: int | None,
) -> str:
    return db.add_hash_job(
        account_id, pin.cid, pin.name or pin.cid, now_ms, due_ms, deadline_ms,
        meta=json.dumps(pin.meta) if pin.meta else None,
        origins=json.dumps(list(pin.origins)) if pin.origins else None,
    )


def _remove(db: Database, account_id: int, requestid: str) -> bool:
    conn = db.connection
    deleted = conn.execute(
        "DELETE FROM jobs WHERE uid = ? AND account_id = ?", (requestid, account_id)
    ).rowcount
    if deleted:
        conn.execute("DELETE FROM pins WHERE job_uid = ?", (requestid,))
    return bool(deleted)


def add_pin(
    db: Database, account_id: int, pin: PinRequest, now_ms: int, due_ms: int,
    deadline_ms: int | None,
) -> PsaPin:
    """A queued pin job fetching ``pin.cid``, as ``pinByHash`` makes."""
    uid = _add(db, account_id, pin, now_ms, due_ms, deadline_ms)
    added = get_pin(db, account_id, uid)
    assert added is not None
    return added


def replace_pin(
    db: Database, account_id: int, requestid: str, pin: PinRequest, now_ms: int, due_ms: int,
    deadline_ms: int | None,
) -> PsaPin | None:
    """Add ``pin`` and remove ``requestid`` in one transaction; None if there is no such pin."""
    conn = db.begin()
    try:
        if get_pin(db, account_id, requestid) is None:
            db.rollback()
            return None
        uid = _add(db, account_id, pin, now_ms, due_ms, deadline_ms)
        _remove(db, account_id, requestid)
        conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    added = get_pin(db, account_id, uid)
    assert added is not None
    return added


def remove_pin(db: Database, account_id: int, requestid: str) -> bool:
    """Remove the job and the pin it made; False if the account has no such pin."""
    conn = db.begin()
    try:
        removed = _remove(db, account_id, requestid)
        conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return removed
