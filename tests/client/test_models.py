"""Tolerant parsing: bare and wrapped bodies, numbers as strings, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bulkpin.client import (
    AuthenticationError,
    Endpoint,
    InvalidResponse,
    JobStatus,
    PinJob,
    ServerError,
    best_job,
    job_rank,
)
from bulkpin.client.models import (
    parse_access_token,
    parse_endpoints,
    parse_job_page,
    parse_json,
    parse_pin_by_hash,
    parse_pin_file,
    parse_pin_page,
    unwrap,
)

CID = "QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u"
JOBS = {
    "Count": 2,
    "Jobs": [
        {"Id": "j1", "Status": "pinned", "PinHash": CID},
        {"Id": "j2", "Status": "queued", "PinHash": CID},
    ],
}


def wrap(data: object) -> dict[str, object]:
    return {"Code": 200, "Msg": "Success", "Data": data}


@pytest.mark.parametrize("body", [JOBS, wrap(JOBS)], ids=["bare", "wrapped"])
def test_job_page_bare_or_wrapped(body: object) -> None:
    page = parse_job_page(body)
    assert page.count == 2
    assert [(j.id, j.status, j.cid) for j in page.jobs] == [
        ("j1", JobStatus.PINNED, CID),
        ("j2", JobStatus.QUEUED, CID),
    ]


def test_numbers_as_strings_and_any_key_case() -> None:
    page = parse_job_page(
        {"count": "12", "jobs": [{"id": 7, "status": "PINNING", "pin_hash": CID}]}
    )
    assert page.count == 12
    assert page.jobs[0].id == "7"
    assert page.jobs[0].status is JobStatus.PINNING
    pins = parse_pin_page(
        wrap(
            {
                "Count": "1",
                "Pins": [
                    {
                        "Id": "p",
                        "PinHash": CID,
                        "PinSize": "1024",
                        "PinDate": "2024-05-01T10:00:00Z",
                        "Metadata": {"name": "a.txt"},
                    }
                ],
            }
        )
    )
    assert pins.count == 1
    pin = pins.pins[0]
    assert pin.size == 1024
    assert pin.date == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert pin.name == "a.txt"


def test_unknown_status_is_kept_not_fatal() -> None:
    job = parse_job_page(
        {"Count": 1, "Jobs": [{"Id": "x", "Status": "expired", "PinHash": CID}]}
    ).jobs[0]
    assert job.status is JobStatus.UNKNOWN
    assert job.raw_status == "expired"
    assert not job.status.active


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"Jobs": []}, "'Count'"),
        ({"Count": 1, "Jobs": [{"Id": "x", "PinHash": CID}]}, "'Status'"),
        ({"Count": "many", "Jobs": []}, "whole number"),
        ({"Count": 1, "Jobs": {"Id": "x"}}, "should be a list"),
        ([1, 2], "JSON object"),
    ],
)
def test_missing_or_malformed_fields_name_the_field(body: object, needle: str) -> None:
    with pytest.raises(InvalidResponse, match=needle) as info:
        parse_job_page(body)
    assert "pinJobs" in str(info.value)


def test_pin_file_answer() -> None:
    cid, size, date = parse_pin_file(
        {"PinHash": CID, "PinSize": "5", "PinDate": "2024-01-02T03:04:05+00:00"}
    )
    assert (cid, size) == (CID, 5)
    assert date is not None
    assert date.year == 2024
    # Absent size and date are tolerated; an absent CID is not.
    assert parse_pin_file(wrap({"PinHash": CID})) == (CID, None, None)
    with pytest.raises(InvalidResponse, match="PinHash"):
        parse_pin_file({"PinSize": 5})


def test_pin_by_hash_answer() -> None:
    result = parse_pin_by_hash({"HashToPin": CID, "JobId": 42, "JobStatus": "queued"})
    assert (result.cid, result.job_id, result.status) == (CID, "42", JobStatus.QUEUED)


def test_access_token_forms() -> None:
    assert parse_access_token({"Data": "tok-123456"}) == "tok-123456"
    assert parse_access_token(wrap("tok-123456")) == "tok-123456"
    assert parse_access_token(wrap({"accessToken": "tok-123456"})) == "tok-123456"
    assert parse_access_token("tok-123456") == "tok-123456"
    with pytest.raises(InvalidResponse, match="no token"):
        parse_access_token({"Data": ""})


def test_endpoint_list() -> None:
    listed = [{"id": 1, "name": "Hong Kong", "apiHost": "https://api-hk.decoo.io/"}]
    expected = [Endpoint(name="Hong Kong", url="https://api-hk.decoo.io", id="1")]
    assert parse_endpoints(listed) == expected
    assert parse_endpoints(wrap(listed)) == expected
    with pytest.raises(InvalidResponse, match="apiHost"):
        parse_endpoints([{"id": 1, "name": "x"}])


def test_wrapped_error_code_under_http_200_is_that_error() -> None:
    with pytest.raises(AuthenticationError) as info:
        unwrap({"Code": 401, "Msg": "Invalid token"}, "pinFile", renewable=True)
    assert info.value.renewable
    with pytest.raises(ServerError):
        unwrap({"Code": "503", "Msg": "busy", "Data": None}, "pinJobs")
    # A bare body that merely has a "Code"-like field is left alone.
    assert unwrap({"Code": 200, "Data": [1]}, "x") == [1]


def test_not_json() -> None:
    with pytest.raises(InvalidResponse, match="not JSON") as info:
        parse_json(b"<html>oops</html>", "pinFile")
    assert info.value.status == 200


def test_best_job_ranks_pinned_pinning_queued_failed() -> None:
    def job(ident: str, status: JobStatus) -> PinJob:
        return PinJob(ident, CID, status)

    failed, queued, pinning = (job("f", JobStatus.FAILED), job("q", JobStatus.QUEUED),
                               job("p", JobStatus.PINNING))
    assert best_job([failed, queued, pinning]) is pinning
    assert best_job([failed, queued]) is queued
    assert best_job([job("u", JobStatus.UNKNOWN), failed]) is failed
    assert best_job([queued, job("q2", JobStatus.QUEUED)]) is queued  # the first of equals
    assert best_job([]) is None
    assert sorted([failed, pinning, queued], key=job_rank) == [pinning, queued, failed]


_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-2, 10**12), st.text(max_size=30),
                   st.just("2026-11-29T17:36:02.291Z"), st.dictionaries(st.text(max_size=5),
                                                                        st.text(max_size=5)))


@settings(max_examples=300, deadline=None)
@example({"Id": "p1", "PinHash": CID, "PinSize": 4, "PinDate": "2026-11-29T17:36:02.291Z",
          "Metadata": {"name": "a"}})
@example({"Id": "p1", "PinHash": CID, "PinSize": None, "PinDate": "1700000000000",
          "Metadata": {}})
@given(st.fixed_dictionaries({}, optional=dict.fromkeys(
    ("Id", "PinHash", "PinSize", "PinDate", "Metadata", "PinId", "cid"), _VALUE)))
def test_a_pin_in_decoos_own_spelling_reads_as_the_tolerant_reader_reads_it(
    pin: dict[str, object],
) -> None:
    # A dict takes the direct path when its fields have the documented types; the
    # same fields behind another Mapping type always take the tolerant reader.
    def parsed(item: object) -> object:
        try:
            return parse_pin_page({"Count": 1, "Pins": [item]}).pins[0]
        except InvalidResponse as exc:
            return str(exc)

    assert parsed(pin) == parsed(MappingProxyType(pin))
