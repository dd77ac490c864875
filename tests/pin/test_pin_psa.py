"""``bulkpin pin --from psa:S/psa`` against D, over loopback: the migration proof."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support.push import manifest
from tests.support.service import ServiceProcess

from .helpers import (
    Source,
    assert_migrated,
    make_tree,
    push_to,
    requests_of,
    run_pin,
    source_pins,
)


def test_every_pin_migrates_under_its_cid_and_name_and_a_rerun_requests_nothing(
    source: Source, dest: ServiceProcess, tmp_path: Path,
) -> None:
    out = tmp_path / "m.jsonl"
    # At the product's own poll interval, not the suite's quick one: the count of
    # pinJobs pages below is what a real run makes.
    first = run_pin(dest, "--from", source.psa, "--from-token-env", "SRC_TOKEN",
                    "--manifest", out, "--json", token=source.token,
                    env={"BULKPIN_POLL_INTERVAL": "1"})
    assert first.returncode == 0, first.stderr
    assert_migrated(dest, source.pins)
    assert requests_of(dest, "pinByHash") == len(source.pins)
    rows = manifest(out)
    assert {r["cid"] for r in rows} == set(source.pins)
    for row in rows:
        assert row["status"] == "pinned"
        assert row["job_id"]
        assert row["name"] == source.pins[row["cid"]]
        assert row["source"] == source.psa
        assert all(row[date] for date in ("discovered", "requested", "pinned"))
    summary = json.loads(first.stdout.splitlines()[-1])
    assert summary["event"] == "summary"
    assert summary["counts"]["pinned"] == len(source.pins)
    assert summary["pin_requests"] == len(source.pins)
    # Batched polling: a handful of pinJobs pages, never one per CID.
    assert summary["poll_requests"] < len(source.pins) / 10

    again = run_pin(dest, "--from", source.psa, "--from-token-env", "SRC_TOKEN",
                    token=source.token)
    assert again.returncode == 0, again.stderr
    assert requests_of(dest, "pinByHash") == len(source.pins)
    assert_migrated(dest, source.pins)


def test_the_account_already_holding_a_cid_means_no_request(
    source: Source, dest: ServiceProcess, tmp_path: Path,
) -> None:
    # Pinned once from an argument, under another journal: a run from the whole
    # source finds it on the account, not in its own journal.
    cid = sorted(source.pins)[0]
    one = run_pin(dest, cid, "--journal", tmp_path / "one.sqlite")
    assert one.returncode == 0, one.stderr
    assert requests_of(dest, "pinByHash") == 1
    run = run_pin(dest, "--from", source.psa, "--from-token-env", "SRC_TOKEN", "--json",
                  token=source.token)
    assert run.returncode == 0, run.stderr
    assert requests_of(dest, "pinByHash") == len(source.pins)
    events = [json.loads(line) for line in run.stdout.splitlines()]
    held = [e for e in events if e["event"] == "pin" and e["outcome"] == "held"]
    assert [e["cid"] for e in held] == [cid]
    assert dest.stats()["duplicate_jobs"] == 0


def test_a_source_that_grew_adds_only_its_new_cids(
    small_source: Source, dest_factory: Callable[..., ServiceProcess], tmp_path: Path,
) -> None:
    src = small_source
    dest = dest_factory(src.service)
    first = run_pin(dest, "--from", src.psa, "--from-token-env", "SRC_TOKEN", token=src.token)
    assert first.returncode == 0, first.stderr
    push_to(src.service, make_tree(tmp_path / "more", 10, "more"))
    grown = source_pins(src.service)
    assert len(grown) == len(src.pins) + 10
    second = run_pin(dest, "--from", src.psa, "--from-token-env", "SRC_TOKEN",
                     token=src.token)
    assert second.returncode == 0, second.stderr
    assert requests_of(dest, "pinByHash") == len(grown)
    assert_migrated(dest, grown)


def test_faults_on_both_sides_still_migrate_everything_once(
    service_factory: Callable[..., ServiceProcess], tmp_path: Path,
) -> None:
    # psaList faults only: the push that fills S is not touched by them.
    src_svc = service_factory("--faults", "psaList:503=0.2", "--fault-seed", "1")
    push_to(src_svc, make_tree(tmp_path / "tree", 60, "f"))
    pins = source_pins(src_svc)
    dest = service_factory("--gateway", src_svc.cloud_url, "--faults",
                           "pinByHash:503=0.2", "--fault-seed", "5")
    src = Source(src_svc, pins)
    run = run_pin(dest, "--from", src.psa, "--from-token-env", "SRC_TOKEN", "--json",
                  token=src.token)
    assert run.returncode == 0, run.stderr
    assert_migrated(dest, pins)
    # The faults did happen, on both sides, and were retried.
    assert src_svc.stats()["requests"]["psaList"].get("503", 0) > 0
    assert dest.stats()["requests"]["pinByHash"].get("503", 0) > 0
