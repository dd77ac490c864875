"""Workload: one large file uploaded by ``DecooClient.pin_file`` against ``curl -F``.

Both send the same file with the same fields (``file``, ``cid``, ``secret``) to
the same Endpoint of one ``bulkpin serve``, interleaved, in the same run. The
client computes the CID while it streams (curl is handed the CID up front,
which favours curl). Each client upload runs in a fresh child process, so its
peak RSS (``VmHWM``) is the client's own: imports, session, buffers.

The figure is the throughput ratio, median curl time over median client time
(>= 0.8 is the target); the spread of both is in the details. The client's
time is measured around ``pin_file`` inside the child (after the access token
and Endpoint are known, as in a long run); the child's whole wall time is in
the details too.

The child also reports the CPU seconds ``pin_file`` itself spent (start-up and
imports excluded), over plain HTTP and over TLS, terminated by a
:class:`~bulkpin.testing.ChaosProxy` in this process in front of the same
Endpoint: what encrypting in the client costs on top of reading, hashing and
sending.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

from .harness import Context, Result, Timing, peak_rss_kib, warm, write_file

MiB = 1 << 20
RSS_TARGET_MIB = 64
RATIO_TARGET = 0.8


def _child(profile: str, path: str, endpoint: str | None = None, ca: str | None = None) -> None:
    """Upload ``path`` once with the client and print timings, CPU and peak RSS as JSON."""
    import anyio  # noqa: PLC0415 - the child alone pays for the client's imports

    from bulkpin.client import DecooClient, load_credentials  # noqa: PLC0415

    async def main() -> dict[str, object]:
        credentials = load_credentials(profile=profile, env={}, endpoint=endpoint)
        async with DecooClient(credentials, concurrency=1, ca_bundle=ca) as client:
            await client.access_token()
            current = await client.endpoint_selector.current()
            started, cpu = time.perf_counter(), time.process_time()
            result = await client.pin_file(path)
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        return {"seconds": seconds, "cpu_s": cpu_s, "cid": result.cid, "endpoint": current.url}

    report = anyio.run(main)
    report["vmhwm_kib"] = peak_rss_kib()
    print(json.dumps(report))


def _client_once(
    profile: Path, path: Path, endpoint: str | None = None, ca: Path | None = None
) -> dict[str, object]:
    started = time.perf_counter()
    tls = [endpoint or "", str(ca)] if ca is not None else []
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.client_upload", "--child", str(profile), str(path),
         *tls],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    report: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    report["wall"] = time.perf_counter() - started
    return report


def _curl_fields(profile: Path, path: Path, header_file: Path) -> tuple[str, list[str]]:
    """The Endpoint URL and curl's arguments: the client's token, CID and secret."""
    import anyio  # noqa: PLC0415

    from bulkpin.client import DecooClient, load_credentials  # noqa: PLC0415
    from bulkpin.unixfs import hash_file  # noqa: PLC0415

    async def main() -> tuple[str, str]:
        credentials = load_credentials(profile=profile, env={})
        async with DecooClient(credentials) as client:
            token = (await client.access_token()).value.reveal()
            endpoint = (await client.endpoint_selector.current()).url
        return token, endpoint

    token, endpoint = anyio.run(main)
    credentials = load_credentials(profile=profile, env={})
    cid = hash_file(path).cid
    # The token goes through a private header file, not the command line.
    header_file.touch(mode=0o600)
    header_file.write_text(f"UserAccessToken: {token}\n")
    args = [
        "curl", "-sS", "--fail", "-o", "/dev/null",
        "-H", f"@{header_file}",
        "-F", f"file=@{path}",
        "-F", f"cid={cid}",
        "-F", f"secret={credentials.sign(cid)}",
        f"{endpoint}/pinning/pinFile",
    ]  # fmt: skip
    return endpoint, args


def _tls_cpu_per_gib(ctx: Context, profile: Path, endpoint: str, big: Path) -> list[float]:
    """``pin_file``'s CPU seconds per GiB through a TLS-terminating proxy to ``endpoint``."""
    import trustme  # noqa: PLC0415 - a test extra, needed here alone

    from bulkpin.testing import ChaosProxy  # noqa: PLC0415

    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    ca_file = ctx.workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    gib = big.stat().st_size / (1024 * MiB)
    samples = []
    with ChaosProxy(endpoint, tls=server) as proxy:
        for _ in range(ctx.repeats):
            warm(big)
            report = _client_once(profile, big, proxy.url, ca_file)
            assert str(report["endpoint"]).startswith("https://")
            samples.append(float(report["cpu_s"]) / gib)  # type: ignore[arg-type]
    return samples


def run(ctx: Context) -> list[Result]:
    """Upload one file (1 GiB; smoke: 8 MiB) by both means, interleaved."""
    size = ctx.scale(1024 * MiB, 8 * MiB)
    gib = size / (1024 * MiB)
    big = write_file(ctx.workdir / "upload.bin", size)
    warm(big)
    # Imported here: the measured child process must not pay for it.
    from bulkpin.service import ServeProcess  # noqa: PLC0415

    service = ServeProcess(ctx.workdir / "service").start()
    header_file = ctx.workdir / "curl-headers"
    try:
        endpoint, curl_args = _curl_fields(service.profile_path, big, header_file)
        # One untimed upload each: the service's first store of the blob (and
        # its fsync) is not what is measured.
        subprocess.run(curl_args, check=True)
        _client_once(service.profile_path, big)
        curl_s: list[float] = []
        client_s: list[float] = []
        client_wall: list[float] = []
        plain_cpu: list[float] = []
        rss_kib: list[int] = []
        for _ in range(ctx.repeats):
            warm(big)
            started = time.perf_counter()
            subprocess.run(curl_args, check=True)
            curl_s.append(time.perf_counter() - started)
            warm(big)
            report = _client_once(service.profile_path, big)
            client_s.append(float(report["seconds"]))  # type: ignore[arg-type]
            client_wall.append(float(report["wall"]))  # type: ignore[arg-type]
            plain_cpu.append(float(report["cpu_s"]) / gib)  # type: ignore[arg-type]
            rss_kib.append(int(report["vmhwm_kib"]))  # type: ignore[call-overload]
        tls_cpu = _tls_cpu_per_gib(ctx, service.profile_path, endpoint, big)
    finally:
        service.stop()
        header_file.unlink(missing_ok=True)
    curl_t, client_t, wall_t = Timing(curl_s), Timing(client_s), Timing(client_wall)
    ratio = curl_t.median / client_t.median
    peak_mib = max(rss_kib) / 1024
    details = {
        "size_MiB": size // MiB,
        "endpoint": endpoint,
        "curl_s": curl_s,
        "client_s": client_s,
        "client_child_wall_s": client_wall,
        "curl_spread_s": curl_t.spread,
        "client_spread_s": client_t.spread,
        "curl_MiB_s": size / MiB / curl_t.median,
        "client_MiB_s": size / MiB / client_t.median,
        "ratio_including_child_startup": curl_t.median / wall_t.median,
    }
    plain, tls = Timing(plain_cpu).median, Timing(tls_cpu).median
    return [
        Result(
            "client_upload",
            "pin_file CPU per GiB, plain HTTP (start-up excluded)",
            plain,
            "s/GiB",
            details={"samples": plain_cpu},
        ),
        Result(
            "client_upload",
            "pin_file CPU per GiB, TLS (start-up excluded)",
            tls,
            "s/GiB",
            details={"samples": tls_cpu, "tls_over_plain": tls / plain},
        ),
        Result(
            "client_upload",
            f"pin_file / curl -F throughput ({size // MiB} MiB)",
            ratio,
            "x",
            target=f">= {RATIO_TARGET}",
            ok=ratio >= RATIO_TARGET,
            details=details,
        ),
        Result(
            "client_upload",
            "client peak RSS (VmHWM)",
            peak_mib,
            "MiB",
            target=f"< {RSS_TARGET_MIB}",
            ok=peak_mib < RSS_TARGET_MIB,
            details={"vmhwm_kib": rss_kib},
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("usage: python -m benchmarks.client_upload --child PROFILE PATH [ENDPOINT CA]")
