"""The s3:// source against a real S3-compatible server (moto) on loopback, faults included."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bulkpin.fs import Selection, Shard
from bulkpin.sources.remote import Skipped
from bulkpin.sources.remote_errors import (
    LocationError,
    ObjectChanged,
    ObjectNotFound,
    SourceConfigError,
)
from bulkpin.sources.s3 import S3Location, S3Object, S3Options, S3Source
from bulkpin.testing.proxy import ChaosProxy, Fault
from bulkpin.testing.s3server import (
    ACCESS_KEY,
    MARKERS,
    MIB,
    MotoServer,
    fill_bucket,
    generated_objects,
    isolate_aws,
    slow_down,
)
from bulkpin.unixfs import FileBuilder, hash_bytes

pytestmark = pytest.mark.anyio

BUCKET = "bulkpin-src"
OBJECTS = generated_objects()
FILES = {k: v for k, v in OBJECTS.items() if k not in MARKERS}
READ = 64 * 1024


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One server for the module, its bucket filled once (tests that change objects use others)."""
    root = tmp_path_factory.mktemp("moto")
    with MotoServer(root / "server") as server, pytest.MonkeyPatch.context() as mp:
        isolate_aws(mp, root / "fill-home")

        async def fill() -> None:
            async with S3Source(_options(server.url)) as s3:
                await fill_bucket(s3.client, BUCKET, OBJECTS)

        asyncio.run(fill())
        yield server


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This test's own HOME, with the test credentials in the environment."""
    isolate_aws(monkeypatch, tmp_path / "home")
    return tmp_path / "home"


def _options(url: str, **kw: object) -> S3Options:
    return S3Options(endpoint_url=url, path_style=True, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def s3(moto: MotoServer, home: Path) -> AsyncIterator[S3Source]:
    async with S3Source(_options(moto.url)) as source:
        yield source


async def _list(
    s3: S3Source, location: str = f"s3://{BUCKET}", selection: Selection | None = None,
    page_size: int | None = None,
) -> tuple[dict[str, S3Object], list[Skipped]]:
    objects: dict[str, S3Object] = {}
    skipped: list[Skipped] = []
    async for item in s3.list_objects(S3Location.parse(location), selection, page_size=page_size):
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            assert item.key not in objects
            objects[item.key] = item
    return objects, skipped


async def _read_all(s3: S3Source, obj: S3Object) -> tuple[bytes, str, int]:
    """The object's bytes, their CID computed on the way, and how often the body resumed."""
    builder = FileBuilder()
    data = bytearray()
    async with s3.open_object(obj) as reader:
        while chunk := await reader.read(READ):
            builder.update(chunk)
            data += chunk
        assert reader.position == obj.size
        resumes = reader.resumes
    return bytes(data), builder.finish().cid, resumes


# -- locations --


@pytest.mark.parametrize(
    ("text", "bucket", "prefix"),
    [
        ("s3://b-1", "b-1", ""),
        ("s3://bkt/", "bkt", ""),
        ("s3://bkt/photos/2024", "bkt", "photos/2024"),
        ("s3://bkt/odd key?#%+", "bkt", "odd key?#%+"),
    ],
)
def test_location_parses(text: str, bucket: str, prefix: str) -> None:
    assert S3Location.parse(text) == S3Location(bucket, prefix)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("bkt/prefix", "not an s3:// location"),
        ("https://bkt/x", "not an s3:// location"),
        ("s3://", "names no bucket"),
        ("s3:///key", "names no bucket"),
        ("s3://bad bucket/x", "cannot be a bucket name"),
        ("s3://bkt/" + "k" * 1025, "1024-byte"),
    ],
)
def test_location_refuses_with_reason(text: str, why: str) -> None:
    with pytest.raises(LocationError, match=why):
        S3Location.parse(text)


# -- listing --


async def test_lists_every_object_and_reports_the_marker(s3: S3Source) -> None:
    objects, skipped = await _list(s3)
    assert set(objects) == set(FILES)
    for key, obj in objects.items():
        assert obj.size == len(FILES[key])
        assert obj.etag is not None
        assert obj.last_modified is not None
        assert obj.url == f"s3://{BUCKET}/{key}"
    assert [(s.url, s.reason) for s in skipped] == [(f"s3://{BUCKET}/dir/", "directory marker")]


async def test_small_pages_list_the_same_objects(moto: MotoServer, home: Path) -> None:
    with ChaosProxy(moto.url) as proxy:
        async with S3Source(_options(proxy.url)) as s3:
            paged, skipped = await _list(s3, page_size=2)
    listings = proxy.stats.requests[f"GET /{BUCKET}"]
    assert listings == math.ceil(len(OBJECTS) / 2)
    assert set(paged) == set(FILES)
    assert len(skipped) == 1


async def test_selection_applies_to_keys_below_the_prefix(s3: S3Source) -> None:
    selection = Selection(include=("*.bin", "*.txt"), exclude=("dup/*", "*.tmp"),
                          min_size=1, max_size=4 * MIB)
    objects, _ = await _list(s3, selection=selection)
    expected = {k for k, v in FILES.items()
                if k.endswith((".bin", ".txt")) and not k.startswith("dup/")
                and 1 <= len(v) <= 4 * MIB}
    assert set(objects) == expected
    assert "mib/three.bin" in objects
    assert "mib/five-and-a-bit.bin" not in objects

    # Globs with "/" match the key relative to the prefix, not the whole key.
    objects, _ = await _list(s3, f"s3://{BUCKET}/deep", Selection(include=("a/b/*",)))
    assert set(objects) == {"deep/a/b/c/d.txt"}
    assert objects["deep/a/b/c/d.txt"].rel == "a/b/c/d.txt"


async def test_an_exclude_matching_a_directory_leaves_out_the_keys_below_it(
    s3: S3Source,
) -> None:
    # As in a local tree: "b" names a directory at any depth, "deep/a" one path.
    for pattern in ("b", "deep/a", "[bc]"):
        objects, _ = await _list(s3, selection=Selection(exclude=(pattern,)))
        assert set(objects) == set(FILES) - {"deep/a/b/c/d.txt"}, pattern
    # Only directories are pruned by name: a key's own name is matched as a file's.
    objects, _ = await _list(s3, f"s3://{BUCKET}/deep", Selection(exclude=("d.txt",)))
    assert objects == {}
    objects, _ = await _list(s3, f"s3://{BUCKET}/deep", Selection(exclude=("deep",)))
    assert set(objects) == {"deep/a/b/c/d.txt"}, "the prefix itself is not below the prefix"


async def test_the_listing_jumps_past_an_excluded_directory(moto: MotoServer, home: Path) -> None:
    bucket = "jump"
    keys = ["a.txt", *(f"big/{i:04}" for i in range(40)), "big/sub/", "big2/kept", "z.txt"]
    with ChaosProxy(moto.url) as proxy:
        async with S3Source(_options(proxy.url)) as s3:
            await s3.client.create_bucket(Bucket=bucket)
            for key in keys:
                await s3.client.put_object(Bucket=bucket, Key=key, Body=b"x")
            before = proxy.stats.requests[f"GET /{bucket}"]
            objects, skipped = await _list(s3, f"s3://{bucket}", Selection(exclude=("big",)),
                                           page_size=2)
            listings = proxy.stats.requests[f"GET /{bucket}"] - before
    assert set(objects) == {"a.txt", "big2/kept", "z.txt"}
    assert skipped == [], "a marker inside an excluded directory is not reported"
    # Paging through big/ would take 22 pages of 2; [a.txt, big/0000], jump, [big2/kept, z.txt].
    assert listings == 2


async def test_shards_are_disjoint_and_cover_the_bucket(s3: S3Source) -> None:
    seen: list[str] = []
    markers: list[str] = []
    for index in range(3):
        objects, skipped = await _list(s3, selection=Selection(shard=Shard(index, 3)))
        assert objects, "every share of this bucket holds something"
        seen += objects
        markers += [s.url for s in skipped]
    assert sorted(seen) == sorted(FILES)
    assert markers == [f"s3://{BUCKET}/dir/"]


async def test_a_prefix_is_a_directory_unless_it_is_a_key(s3: S3Source) -> None:
    objects, _ = await _list(s3, f"s3://{BUCKET}/mib")
    assert set(objects) == {"mib/three.bin", "mib/five-and-a-bit.bin"}
    objects, _ = await _list(s3, f"s3://{BUCKET}/mi")  # not "mib/..."
    assert objects == {}
    objects, _ = await _list(s3, f"s3://{BUCKET}/odd/100%.txt")
    assert list(objects) == ["odd/100%.txt"]
    assert objects["odd/100%.txt"].rel == "100%.txt"


async def test_a_missing_bucket_is_a_configuration_error(s3: S3Source) -> None:
    with pytest.raises(SourceConfigError, match="no such bucket"):
        await _list(s3, "s3://no-such-bucket-here")


# -- reading --


async def test_every_object_streams_its_bytes_and_its_cid(s3: S3Source) -> None:
    objects, _ = await _list(s3)
    for key, obj in objects.items():
        data, cid, resumes = await _read_all(s3, obj)
        assert data == FILES[key], key
        assert cid == hash_bytes(FILES[key]).cid, key
        assert resumes == 0
    assert objects["dup/first.bin"].etag == objects["dup/second.bin"].etag


async def test_read_refuses_a_whole_object_buffer(s3: S3Source) -> None:
    objects, _ = await _list(s3, f"s3://{BUCKET}/one.bin")
    async with s3.open_object(objects["one.bin"]) as reader:
        with pytest.raises(ValueError, match="n > 0"):
            await reader.read(-1)


async def test_streaming_writes_nothing_to_disk(s3: S3Source) -> None:
    objects, _ = await _list(s3, f"s3://{BUCKET}/mib")
    obj = objects["mib/five-and-a-bit.bin"]
    builder = FileBuilder()
    before = _write_bytes()
    async with s3.open_object(obj) as reader:
        while chunk := await reader.read(READ):
            builder.update(chunk)
    after = _write_bytes()
    assert builder.finish().cid == hash_bytes(FILES[obj.key]).cid
    assert after == before


def _write_bytes() -> int:
    with open("/proc/self/io") as io:
        fields = dict(line.split(": ") for line in io.read().splitlines())
    return int(fields["write_bytes"])


async def _scratch(s3: S3Source, tmp_path: Path, objects: dict[str, bytes]) -> str:
    """A bucket of this test's own, for tests that change or delete objects."""
    bucket = f"scratch-{abs(hash(tmp_path)) % 10**9}"
    await fill_bucket(s3.client, bucket, objects)
    return bucket


async def test_an_object_changed_after_listing_is_refused(s3: S3Source, tmp_path: Path) -> None:
    bucket = await _scratch(s3, tmp_path, {"k.bin": b"old" * 1000})
    objects, _ = await _list(s3, f"s3://{bucket}")
    await s3.client.put_object(Bucket=bucket, Key="k.bin", Body=b"new" * 1000)
    with pytest.raises(ObjectChanged, match="changed since it was listed"):
        async with s3.open_object(objects["k.bin"]):
            pass


async def test_an_object_deleted_after_listing_is_not_found(s3: S3Source, tmp_path: Path) -> None:
    bucket = await _scratch(s3, tmp_path, {"k.bin": b"x"})
    objects, _ = await _list(s3, f"s3://{bucket}")
    await s3.client.delete_object(Bucket=bucket, Key="k.bin")
    with pytest.raises(ObjectNotFound):
        async with s3.open_object(objects["k.bin"]):
            pass


@pytest.mark.parametrize("versioned", [False, True])
async def test_an_object_overwritten_mid_stream_never_ends_cleanly(
    s3: S3Source, tmp_path: Path, versioned: bool
) -> None:
    old = os.urandom(3 * MIB)
    bucket = await _scratch(s3, tmp_path, {"big.bin": old})
    if versioned:
        await s3.client.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        await s3.client.put_object(Bucket=bucket, Key="big.bin", Body=old)
    objects, _ = await _list(s3, f"s3://{bucket}")
    got = bytearray()

    async def read_while_overwritten() -> None:
        async with s3.open_object(objects["big.bin"]) as reader:
            got.extend(await reader.read(READ))
            await s3.client.put_object(Bucket=bucket, Key="big.bin", Body=os.urandom(3 * MIB))
            while chunk := await reader.read(READ):
                got.extend(chunk)
            pytest.fail("the reader reported the end of an object that changed")

    with pytest.raises(ObjectChanged):
        await read_while_overwritten()
    # Whatever was handed out was the listed object's bytes, never the new ones.
    assert bytes(got) == old[: len(got)]


async def test_a_resume_after_an_overwrite_is_refused_by_s3(
    moto: MotoServer, s3: S3Source, tmp_path: Path
) -> None:
    old = os.urandom(3 * MIB)
    bucket = await _scratch(s3, tmp_path, {"big.bin": old})
    objects, _ = await _list(s3, f"s3://{bucket}")
    got = bytearray()
    with ChaosProxy(moto.url) as proxy:
        # Every answer stream is cut after 1 MiB: the GET breaks, the resume's
        # small 412 answer does not.
        proxy.set_fault(Fault("cut", at=MIB))
        async with S3Source(_options(proxy.url, confirm_at_end=False)) as cut:

            async def read_across_an_overwrite() -> None:
                async with cut.open_object(objects["big.bin"]) as reader:
                    got.extend(await reader.read(READ))
                    await s3.client.put_object(Bucket=bucket, Key="big.bin", Body=b"new")
                    while chunk := await reader.read(READ):
                        got.extend(chunk)

            # Not the final check (turned off here): S3 refused the resume's If-Match.
            with pytest.raises(ObjectChanged, match="changed since it was listed"):
                await read_across_an_overwrite()
    assert READ <= len(got) < 3 * MIB
    assert bytes(got) == old[: len(got)]
    assert proxy.stats.connections["cut"] >= 2


# -- faults --


async def test_slow_down_answers_are_retried(moto: MotoServer, home: Path) -> None:
    counts: dict[str, int] = {}
    with ChaosProxy(moto.url) as proxy:
        proxy.rewrite = slow_down(f"GET /{BUCKET}/", 2, counts)
        # The proxy's rewrite mode reads every answer's Content-Length of body,
        # which a HEAD answer does not carry: no final HEAD through it.
        async with S3Source(_options(proxy.url, max_attempts=4, confirm_at_end=False)) as s3:
            # One object: botocore's jittered backoff is real time (not injectable).
            # (A prefix, not the exact key: that would HEAD it, see above.)
            objects, _ = await _list(s3, f"s3://{BUCKET}/edges")
            obj = objects["edges/262145.bin"]
            data, cid, _ = await _read_all(s3, obj)
    assert data == FILES[obj.key]
    assert cid == hash_bytes(data).cid
    assert proxy.stats.rewritten == 2


async def test_resets_and_cut_bodies_are_retried_and_resumed(
    moto: MotoServer, home: Path
) -> None:
    with ChaosProxy(moto.url) as direct:
        async with S3Source(_options(direct.url)) as lister:
            objects, _ = await _list(lister)
    big = [o for o in objects.values() if o.size > 200_000]
    total_resumes = 0
    with ChaosProxy(moto.url, seed=7) as proxy:
        # Per connection: cut the answer stream part-way through a body, or
        # reset the request; the draws are seeded, so a failure replays.
        proxy.set_faults([(Fault("cut", at=150_000), 0.3), (Fault("reset", at=40), 0.1)])
        async with S3Source(_options(proxy.url, max_attempts=8, max_resumes=10)) as s3:
            for obj in big:
                data, cid, resumes = await _read_all(s3, obj)
                assert data == FILES[obj.key]
                assert cid == hash_bytes(FILES[obj.key]).cid
                total_resumes += resumes
    assert proxy.stats.connections["cut"] > 0
    assert proxy.stats.connections["reset"] > 0
    assert total_resumes > 0


# -- credentials --


async def test_credentials_come_from_a_profile_in_home(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "profile-home"
    isolate_aws(monkeypatch, home, credentials=False)
    aws = home / ".aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULTNOTUSED\naws_secret_access_key = x\n\n"
        "[archive]\naws_access_key_id = AKIAFROMPROFILE\naws_secret_access_key = y\n"
    )
    seen = bytearray()
    with ChaosProxy(moto.url) as proxy:
        proxy.tap = seen.extend
        async with S3Source(_options(proxy.url, profile="archive")) as s3:
            objects, _ = await _list(s3, f"s3://{BUCKET}/one.bin")
        monkeypatch.setenv("AWS_PROFILE", "archive")
        async with S3Source(_options(proxy.url)) as s3:
            await _list(s3, f"s3://{BUCKET}/one.bin")
    assert list(objects) == ["one.bin"]
    assert seen.count(b"Credential=AKIAFROMPROFILE/") >= 2
    assert b"AKIADEFAULTNOTUSED" not in seen


async def test_credentials_come_from_the_environment(moto: MotoServer, home: Path) -> None:
    seen = bytearray()
    with ChaosProxy(moto.url) as proxy:
        proxy.tap = seen.extend
        async with S3Source(_options(proxy.url)) as s3:
            await _list(s3, f"s3://{BUCKET}/one.bin")
    assert f"Credential={ACCESS_KEY}/".encode() in seen


async def test_no_credentials_is_a_configuration_error(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolate_aws(monkeypatch, tmp_path / "empty-home", credentials=False)
    async with S3Source(_options(moto.url)) as s3:
        with pytest.raises(SourceConfigError, match="credentials"):
            await _list(s3)


async def test_an_unknown_profile_is_a_configuration_error(
    moto: MotoServer, home: Path
) -> None:
    with pytest.raises(SourceConfigError, match="nope"):
        async with S3Source(_options(moto.url, profile="nope")) as s3:
            await _list(s3)
