"""The baseline for workload 3: a client that works the way Decoo's official SDK does.

One file at a time: read it once to compute its CID, read it again to upload it
(a multipart form, as the SDK's form-data does), then poll ``pinJobs`` for that
one job until it is pinned. Same HTTP stack as bulkpin (aiohttp), so the ratio
measures the pipeline, not the library.

``python -m benchmarks.baseline_client PROFILE FILE...``
"""

from __future__ import annotations

import asyncio
import sys
import tomllib
from pathlib import Path

import aiohttp

from bulkpin.signing import load_private_key, sign_cid
from bulkpin.unixfs import hash_file

POLL_INTERVAL = 0.05


async def pin_all(profile: Path, files: list[Path]) -> int:
    conf = tomllib.loads(profile.read_text())  # noqa: ASYNC240 - once, before any request
    key = load_private_key(conf["private_key"])
    cloud = {"Authorization": f"Bearer {conf['api_key']}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(conf["cloud_url"] + "/endpoint/list", headers=cloud) as r:
            endpoint = (await r.json())[0]["apiHost"]
        async with session.get(conf["cloud_url"] + "/oauth/accessToken", headers=cloud) as r:
            token = (await r.json())["Data"]
        for path in files:
            cid = hash_file(path).cid  # first read
            form = aiohttp.FormData()
            with path.open("rb") as f:  # second read
                form.add_field("file", f, filename=path.name)
                form.add_field("cid", cid)
                form.add_field("secret", sign_cid(key, cid))
                async with session.post(endpoint + "/pinning/pinFile", data=form,
                                        headers={"UserAccessToken": token}) as r:
                    r.raise_for_status()
            while True:  # the SDK's way: ask for this one job until it is done
                async with session.get(conf["cloud_url"] + "/pinning/pinJobs",
                                       params={"pin-hash": cid}, headers=cloud) as r:
                    jobs = (await r.json())["Jobs"]
                if jobs and jobs[0]["Status"] in ("pinned", "failed"):
                    break
                await asyncio.sleep(POLL_INTERVAL)
    return len(files)


def main() -> None:
    profile, *files = sys.argv[1:]
    asyncio.run(pin_all(Path(profile), [Path(f) for f in files]))


if __name__ == "__main__":
    main()
