"""``python -m bulkpin.service.healthcheck --profile PATH [--url URL]``: exit 0 if /ping answers.

The container healthcheck of ``docker-compose.yml``: it reads the API key from
the service's own profile, so it checks auth and the database, not just the port.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import urllib.error
import urllib.request
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Ping the Cloud; 0 when it answers ``{"Success": true}``, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m bulkpin.service.healthcheck")
    parser.add_argument("--profile", type=Path, required=True, help="the service's profile.toml")
    parser.add_argument("--url", default=None, help="Cloud URL [default: the profile's]")
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    try:
        profile = tomllib.loads(args.profile.read_text())
        url = (args.url or profile["cloud_url"]).rstrip("/") + "/ping"
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an HTTP URL: {url}")  # noqa: TRY301
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, headers={"Authorization": f"Bearer {profile['api_key']}"}
        )
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310
            ok = json.load(response) == {"Success": True}
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError, urllib.error.URLError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
