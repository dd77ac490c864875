"""Decoo's JavaScript SDK's requests, made by node with the SDK's own libraries.

Needs ``node`` and ``npm`` (the npm registry is reachable in CI); the packages are
installed once into pytest's cache directory (``.pytest_cache/d/bulkpin-sdk-test/
<hash of package.json>``, or ``$BULKPIN_SDK_CACHE``), and npm's own download cache
lives beside them: tests never write into the real home.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.service import ServiceProcess, wait_for

from .helpers import Account, cid_of, jobs

SDK_DIR = Path(__file__).resolve().parents[1] / "sdk"


@pytest.fixture
def sdk_cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the SDK's packages are installed, kept between runs (npm is slow).

    In pytest's cache when it is on; with ``-p no:cacheprovider``, in the run's
    temporary directory (installed again each run, never in the real home).
    """
    cache = getattr(request.config, "cache", None)
    if cache is None:
        base = tmp_path_factory.mktemp("sdk-cache")
        npm, sdk = base / "npm", base / "bulkpin-sdk-test"
    else:
        npm, sdk = cache.mkdir("npm"), cache.mkdir("bulkpin-sdk-test")
    monkeypatch.setenv("npm_config_cache", str(npm))
    return Path(os.environ.get("BULKPIN_SDK_CACHE", sdk))


def _installed(cache: Path) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the Decoo SDK smoke test")
    manifest = (SDK_DIR / "package.json").read_bytes()
    target = cache / hashlib.sha256(manifest).hexdigest()[:16]
    if not (target / "node_modules" / "axios").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        (target / "package.json").write_bytes(manifest)
        result = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=target,
                                capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            pytest.skip(f"npm could not install the SDK's packages: {result.stderr[-500:]}")
    shutil.copy(SDK_DIR / "sdk_smoke.mjs", target / "sdk_smoke.mjs")
    return target


def test_sdk_requests_are_accepted(
    service: ServiceProcess, tmp_path: Path, sdk_cache: Path
) -> None:
    target = _installed(sdk_cache)
    data = os.urandom(3 * 1024 * 1024 + 5)
    file = tmp_path / "upload.bin"
    file.write_bytes(data)
    cid = cid_of(data)
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(tomllib.loads(service.profile_path.read_text())))
    result = subprocess.run(["node", "sdk_smoke.mjs", str(profile), str(file), cid], cwd=target,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["endpoints"][0]["apiHost"] == service.endpoint_urls[0]
    assert out["pinned"]["PinHash"] == cid
    assert out["pinned"]["PinSize"] == len(data)
    assert out["byHash"]["HashToPin"] == cid
    assert out["byHash"]["JobStatus"] == "queued"
    account = Account.load(service.profile_path)
    wait_for(lambda: jobs(service, account, status="pinned")["Count"] == 2)
    # The SDK names the file part after the CID when the stream has no name.
    assert (service.data_dir / "blobs" / cid[-2:] / cid).read_bytes() == data
