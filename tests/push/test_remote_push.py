"""``bulkpin push s3://...`` end to end: moto on loopback -> bulkpin -> ``bulkpin serve``.

Real servers only: moto in server mode (a subprocess), the project's own
Decoo-compatible service, and the seeded fault proxy between them.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from bulkpin.client.multipart import THROTTLE_PIECE
from bulkpin.core.pacing import TokenBucket, wire_bucket
from bulkpin.movers import pin_file as mover_module
from bulkpin.push import ProgressEvent, PushEvent, PushOptions
from bulkpin.sources.s3 import S3Source
from bulkpin.testing.proxy import ChaosProxy, Fault
from bulkpin.testing.s3server import (
    MARKERS,
    MIB,
    MotoServer,
    fill_bucket,
    generated_objects,
    isolate_aws,
    slow_down,
)
from bulkpin.unixfs import hash_bytes
from tests.push.remote_support import (
    fill,
    journal_bytes,
    pinned_cids,
    push_bucket,
    s3_options,
    write_bytes,
)
from tests.support.push import POLL_INTERVAL, manifest, push_command, run_push
from tests.support.service import ServiceProcess

BUCKET = "push-src"
OBJECTS = generated_objects()
FILES = {k: v for k, v in OBJECTS.items() if k not in MARKERS}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto for the module, the generated bucket filled once."""
    root = tmp_path_factory.mktemp("moto-push")
    with MotoServer(root / "server") as server, pytest.MonkeyPatch.context() as mp:
        isolate_aws(mp, root / "fill-home")
        fill(server, BUCKET, OBJECTS)
        yield server


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials in the environment (inherited by pushes run as commands)."""
    isolate_aws(monkeypatch, tmp_path / "aws-home")


def _s3_args(url: str) -> list[str]:
    return ["--s3-endpoint-url", url, "--s3-path-style"]


def _check_pinned(rows: list[dict[str, object]], files: dict[str, bytes], bucket: str) -> None:
    by_url = {str(r["path"]): r for r in rows if r["kind"] == "file"}
    for key, data in files.items():
        row = by_url[f"s3://{bucket}/{key}"]
        assert row["status"] == "pinned", (key, row)
        assert row["cid"] == hash_bytes(data).cid, key
        assert row["size"] == len(data)


def test_a_bucket_is_pinned_object_by_object_and_a_rerun_sends_nothing(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path
) -> None:
    journal, out = tmp_path / "j.sqlite", tmp_path / "m.jsonl"
    args: list[str | Path] = [f"s3://{BUCKET}", *_s3_args(moto.url), "--journal", journal,
                              "--manifest", out]
    proc = run_push(service, *args)
    assert proc.returncode == 0, proc.stderr

    rows = manifest(out)
    _check_pinned(rows, FILES, BUCKET)
    marker = next(r for r in rows if r["path"] == f"s3://{BUCKET}/dir/")
    assert (marker["status"], marker["error"]) == ("skipped", "directory marker")
    # Each distinct content pinned once, named by its key below the prefix.
    pins = pinned_cids(service)
    assert set(pins) == {hash_bytes(d).cid for d in FILES.values()}
    assert pins[hash_bytes(FILES["odd/100%.txt"]).cid] == "odd/100%.txt"
    assert pins[hash_bytes(FILES["ünïcödé/naïve ✓.txt"]).cid] == "ünïcödé/naïve ✓.txt"
    stats = service.stats()
    assert stats["duplicate_jobs"] == 0
    received = stats["bytes_received"]
    # Streamed objects were sent once each: the bytes received are about the
    # distinct contents (plus the multipart framing), not more.
    distinct = sum(len(d) for d in {hash_bytes(d).cid: d for d in FILES.values()}.values())
    assert distinct <= received < distinct + 64 * 1024

    again = run_push(service, *args, "--json")
    assert again.returncode == 0, again.stderr
    assert service.stats()["bytes_received"] == received
    assert '"outcome": "unchanged"' in again.stdout


def test_a_prefix_names_pins_below_it_and_selection_applies_to_keys(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path
) -> None:
    out = tmp_path / "m.jsonl"
    proc = run_push(service, f"s3://{BUCKET}/edges", *_s3_args(moto.url), "--exclude",
                    "262144.bin", "--manifest", out, "--journal", tmp_path / "j")
    assert proc.returncode == 0, proc.stderr
    files = {str(r["path"]) for r in manifest(out) if r["kind"] == "file"}
    assert files == {f"s3://{BUCKET}/edges/262143.bin", f"s3://{BUCKET}/edges/262145.bin"}
    assert set(pinned_cids(service).values()) == {"262143.bin", "262145.bin"}


@pytest.mark.anyio
async def test_streaming_a_bucket_writes_only_the_journal(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path
) -> None:
    # The measure can fail: a spooled copy would be counted.
    before = write_bytes()
    probe = tmp_path / "probe"
    with probe.open("wb") as f:
        f.write(os.urandom(MIB))
        f.flush()
        os.fsync(f.fileno())
    assert write_bytes() - before >= MIB
    probe.unlink()

    journal = tmp_path / "j.sqlite"
    options = PushOptions(journal=journal, small_file=64 * 1024, concurrency=4,
                          poll_interval=POLL_INTERVAL)
    before = write_bytes()
    summary = await push_bucket(service, f"s3://{BUCKET}/mib", options, s3_options(moto.url))
    written = write_bytes() - before
    assert summary.exit_status == 0, summary.reason
    assert summary.counts["pinned"] == 2
    streamed = sum(len(FILES[k]) for k in ("mib/three.bin", "mib/five-and-a-bit.bin"))
    # SQLite writes each commit's pages to the WAL and checkpoints them (a slow
    # run commits more often), plus fsync'd metadata: a few times the journal,
    # nothing near the 8 MiB that streamed through.
    assert written <= 8 * journal_bytes(journal) + 512 * 1024, (written, journal_bytes(journal))
    assert written < streamed / 4, written


@pytest.mark.anyio
async def test_an_object_overwritten_mid_stream_is_not_pinned_under_the_old_cid(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path
) -> None:
    bucket = "overwritten"
    old, new = os.urandom(6 * MIB), os.urandom(6 * MIB)
    async with S3Source(s3_options(moto.url)) as s3:
        await fill_bucket(s3.client, bucket, {"big.bin": old})
    overwritten = anyio.Event()

    async def overwrite() -> None:
        async with S3Source(s3_options(moto.url)) as s3:
            await s3.client.put_object(Bucket=bucket, Key="big.bin", Body=new)
        overwritten.set()

    def on_event(event: PushEvent) -> None:
        # Part-way through the first read: overwrite the object at the source.
        if isinstance(event, ProgressEvent) and 0 < event.snapshot.bytes_sent < len(old) \
                and not started:
            started.append(True)
            tg.start_soon(overwrite)

    started: list[bool] = []
    out = tmp_path / "m.jsonl"
    options = PushOptions(journal=tmp_path / "j", manifest=out, concurrency=1,
                          poll_interval=POLL_INTERVAL)
    with ChaosProxy(moto.url) as proxy:
        # Slow enough that the overwrite lands while the object streams.
        proxy.set_fault(Fault("slow", rate=3 * MIB))
        async with anyio.create_task_group() as tg:
            summary = await push_bucket(service, f"s3://{bucket}", options,
                                        s3_options(proxy.url), on_event=on_event)
    assert overwritten.is_set(), "the overwrite never happened mid-stream"
    assert summary.exit_status == 0, summary.reason
    [row] = [r for r in manifest(out) if r["kind"] == "file"]
    assert row["cid"] == hash_bytes(new).cid
    pins = pinned_cids(service)
    assert hash_bytes(old).cid not in pins
    assert hash_bytes(new).cid in pins
    assert service.stats()["duplicate_jobs"] == 0


@pytest.mark.anyio
async def test_slow_down_answers_from_s3_are_retried(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path
) -> None:
    counts: dict[str, int] = {}
    out = tmp_path / "m.jsonl"
    options = PushOptions(journal=tmp_path / "j", manifest=out, small_file=64 * 1024,
                          poll_interval=POLL_INTERVAL)
    with ChaosProxy(moto.url) as proxy:
        proxy.rewrite = slow_down(f"GET /{BUCKET}/mib/", 1, counts)
        # The proxy's rewrite mode cannot pass HEAD answers: no final HEAD here
        # (the overwrite test covers it).
        summary = await push_bucket(service, f"s3://{BUCKET}/mib", options,
                                    s3_options(proxy.url, confirm_at_end=False))
    assert summary.exit_status == 0, summary.reason
    assert proxy.stats.rewritten == 2
    _check_pinned(manifest(out), {k: v for k, v in FILES.items() if k.startswith("mib/")},
                  BUCKET)


def test_resets_and_cut_answers_from_s3_are_retried(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path
) -> None:
    out = tmp_path / "m.jsonl"
    with ChaosProxy(moto.url, seed=11) as proxy:
        # Seeded per connection: a cut body is resumed with Range, a reset retried.
        proxy.set_faults([(Fault("cut", at=200_000), 0.3), (Fault("reset", at=40), 0.1)])
        proc = run_push(service, f"s3://{BUCKET}", *_s3_args(proxy.url), "--journal",
                        tmp_path / "j", "--manifest", out)
    assert proc.returncode == 0, proc.stderr
    assert proxy.stats.connections["cut"] > 0
    assert proxy.stats.connections["reset"] > 0
    _check_pinned(manifest(out), FILES, BUCKET)
    assert service.stats()["duplicate_jobs"] == 0


@pytest.mark.parametrize("point", ["after_send:2", "after_answer:3"])
def test_kill_9_mid_run_then_resume_makes_no_duplicate_job(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path, point: str
) -> None:
    journal, out = tmp_path / "j.sqlite", tmp_path / "m.jsonl"
    args: list[str | Path] = [f"s3://{BUCKET}", *_s3_args(moto.url), "--journal", journal,
                              "--manifest", out, "--concurrency", "2", "--small-file", "1000"]
    env = {**os.environ, "BULKPIN_CRASH_AT": point}
    env.pop("BULKPIN_PROFILE", None)
    killed = subprocess.run(push_command(service, *args), capture_output=True, text=True,
                            env=env, timeout=180, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    proc = run_push(service, *args)
    assert proc.returncode == 0, proc.stderr
    _check_pinned(manifest(out), FILES, BUCKET)
    assert service.stats()["duplicate_jobs"] == 0


def test_usage_errors_exit_2_before_anything_is_sent(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cases = [
        (["s3://bad bucket/x"], "cannot be a bucket name"),
        ([f"s3://{BUCKET}", str(tmp_path)], "cannot share a run"),
        (["s3://no-such-bucket-here", *_s3_args(moto.url)], "no such bucket"),
    ]
    for args, why in cases:
        proc = run_push(service, *args, "--journal", tmp_path / "j")
        assert proc.returncode == 2, (args, proc.stderr)
        assert why in proc.stderr, proc.stderr
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    proc = run_push(service, f"s3://{BUCKET}", *_s3_args(moto.url), "--journal", tmp_path / "j")
    assert proc.returncode == 2, proc.stderr
    assert "AWS_ACCESS_KEY_ID" in proc.stderr
    assert "pinFile" not in service.stats()["requests"]


# A bucket push paces itself as a local push does: --concurrency auto runs the
# adaptive gate fed by the client's answers; --bwlimit is paid piece by piece as
# bytes go to the socket, never per object before its first byte.

@pytest.mark.anyio
async def test_a_bucket_push_under_concurrency_auto_adapts_and_pins_every_object(
    moto: MotoServer, service_factory: object, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert callable(service_factory)
    service: ServiceProcess = service_factory("--fault-seed", "7",
                                              "--faults", "pinFile:429=0.3,503=0.2")
    caplog.set_level(logging.INFO, logger="bulkpin.push.pipeline")
    options = PushOptions(journal=tmp_path / "j", small_file=64 * 1024, concurrency=None,
                          max_concurrency=8, poll_interval=POLL_INTERVAL)
    summary = await push_bucket(service, f"s3://{BUCKET}", options, s3_options(moto.url))
    assert summary.exit_status == 0, summary.reason
    assert set(pinned_cids(service)) == {hash_bytes(data).cid for data in FILES.values()}
    decided = [r.getMessage() for r in caplog.records if "--concurrency auto" in r.getMessage()]
    # The gate ran, and the service's overload answers cut its limit.
    assert decided, "no adaptive gate ran"
    assert "'overload answer': " in decided[-1], decided


class _Recorded(TokenBucket):
    """The run's real wire bucket, keeping what each payment was."""

    paid: list[float]

    async def take(self, amount: float = 1.0) -> None:
        self.paid.append(amount)
        await super().take(amount)


@pytest.mark.anyio
async def test_a_bucket_push_under_bwlimit_pays_as_bytes_go_to_the_wire(
    moto: MotoServer, service: ServiceProcess, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buckets: list[_Recorded] = []

    def recording(rate: float) -> TokenBucket:
        real = wire_bucket(rate)
        bucket = _Recorded(real.rate, real.burst)
        bucket.paid = []
        buckets.append(bucket)
        return bucket

    monkeypatch.setattr(mover_module, "wire_bucket", recording)
    # High enough that nothing waits: the test observes payments, not time.
    options = PushOptions(journal=tmp_path / "j", small_file=64 * 1024, concurrency=4,
                          bwlimit=1 << 30, poll_interval=POLL_INTERVAL)
    summary = await push_bucket(service, f"s3://{BUCKET}", options, s3_options(moto.url))
    assert summary.exit_status == 0, summary.reason
    assert set(pinned_cids(service)) == {hash_bytes(data).cid for data in FILES.values()}
    [bucket] = buckets
    # Every byte sent was paid for, in pieces as it went out: none up front.
    assert sum(bucket.paid) == summary.snapshot.bytes_sent > 8 * 1024 * 1024
    assert max(bucket.paid) <= THROTTLE_PIECE
