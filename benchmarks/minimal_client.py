"""The baseline of issue 28, target 1: the least a concurrent client must do per small file.

One aiohttp session and 64 workers, each: read a file, compute the CID of its
one leaf, sign it, send it as a multipart ``pinFile``. Then ``pinJobs`` in pages
of 1,000 until every CID sent is pinned. No journal, no retries, no events, no
account listing: what is left is the HTTP stack, the CID and the signature,
which bulkpin cannot do without either. Files must fit one leaf (256 KiB).

``python -m benchmarks.minimal_client PROFILE TREE``
"""

from __future__ import annotations

import asyncio
import os
import sys
import tomllib
from pathlib import Path

import aiohttp

from bulkpin.signing import load_private_key, sign_cid
from bulkpin.unixfs import hash_bytes

WORKERS = 64
PAGE = 1000
POLL_INTERVAL = 0.05


def _files(tree: Path) -> list[str]:
    return [os.path.join(d, name) for d, _, names in os.walk(tree) for name in sorted(names)]


async def pin_tree(profile: Path, tree: Path) -> int:
    conf = tomllib.loads(profile.read_text())  # noqa: ASYNC240 - once, before any request
    key = load_private_key(conf["private_key"])
    cloud_url = conf["cloud_url"]
    cloud = {"Authorization": f"Bearer {conf['api_key']}"}
    paths = _files(tree)
    sent: set[str] = set()
    async with aiohttp.ClientSession() as session:
        async with session.get(cloud_url + "/endpoint/list", headers=cloud) as r:
            pin_file = (await r.json())[0]["apiHost"] + "/pinning/pinFile"
        async with session.get(cloud_url + "/oauth/accessToken", headers=cloud) as r:
            upload = {"UserAccessToken": (await r.json())["Data"]}
        queue = iter(paths)

        async def worker() -> None:
            for path in queue:  # one shared iterator: each path goes to one worker
                with open(path, "rb") as f:  # noqa: ASYNC230 - 4 KiB from the page cache
                    data = f.read()
                cid = hash_bytes(data).cid
                form = aiohttp.FormData()
                form.add_field("file", data, filename=os.path.basename(path))
                form.add_field("cid", cid)
                form.add_field("secret", sign_cid(key, cid))
                async with session.post(pin_file, data=form, headers=upload) as r:
                    r.raise_for_status()
                sent.add(cid)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))
        waiting = set(sent)
        while waiting:
            offset, count = 0, 1
            while offset < count:
                async with session.get(cloud_url + "/pinning/pinJobs", headers=cloud, params={
                        "status": "pinned", "offset": str(offset), "limit": str(PAGE)}) as r:
                    body = await r.json()
                count = int(body["Count"])
                waiting.difference_update(job["PinHash"] for job in body["Jobs"])
                offset += PAGE
            if waiting:
                await asyncio.sleep(POLL_INTERVAL)
    return len(sent)


def main() -> None:
    profile, tree = sys.argv[1:]
    asyncio.run(pin_tree(Path(profile), Path(tree)))


if __name__ == "__main__":
    main()
