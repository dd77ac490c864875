"""``bulkpin verify``: parse, choose input and gateways, run :func:`~bulkpin.verify.verify_all`.

Every usage error (no input or two, a file that is not there, a gateway that
is no URL, a bad --sample or --since) is found here, before anything is fetched.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import click

from ..client import ConfigurationError
from ..client.credentials import default_profile_path, read_profile, resolve_profile
from ..destination import Destination
from ..fs import Selection
from ..journal import JOURNAL_ERRORS, Journal, read_found
from ..manifests.rows import ManifestReadError, format_of
from ..push import PushOptions
from ..target import account_configured
from ..unixfs import PROFILES, CidProfile
from ..verify import (
    DEFAULT_GATEWAYS,
    DEFAULT_TIMEOUT,
    DEFAULT_VERIFY_CONCURRENCY,
    CidListInput,
    JournalInput,
    ManifestInput,
    NoticeEvent,
    Sample,
    VerifyInput,
    VerifyOptions,
    VerifySummary,
    verify_all,
)
from .logs import configure_logging, logging_options
from .options import build_profile, cid_profile_options
from .render import Renderer, make_renderer
from .run_errors import run_and_exit
from .status import _journal_path as push_journal_of
from .stopping import run_stoppable

__all__ = ["verify_command"]


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _renderer(as_json: bool, quiet: bool) -> Renderer:
    return make_renderer("verify", as_json, quiet)


def _gateway(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise click.UsageError(f"--gateway {url!r}: give a base URL, http(s)://HOST[:PORT]")
    return url.rstrip("/")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_gateway(profile: str | None) -> str | None:
    """The Cloud URL of the profile in use, when it is a local service (loopback).

    ``bulkpin serve`` (and the embedded service) answer trustless-gateway
    requests on their Cloud URL; Decoo's own Cloud does not, so only a local
    one is added. Nothing is started: a local service must be running.
    """
    path = resolve_profile(profile) if profile else default_profile_path()
    if not path.exists():
        if profile:
            raise click.UsageError(f"--profile {profile!r}: no such profile")
        return None
    try:
        url = read_profile(path).get("cloud_url", "")
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None
    return url.rstrip("/") if url and _is_loopback(url) else None


def _gateways(given: tuple[str, ...], profile: str | None) -> tuple[str, ...]:
    if given:
        return tuple(dict.fromkeys(_gateway(g) for g in given))
    local = _local_gateway(profile)
    return (local, *DEFAULT_GATEWAYS) if local else DEFAULT_GATEWAYS


def _pinned_in_embedded(source: VerifyInput, profile: str | None) -> bool:
    """Whether the CIDs of ``source`` went to the embedded local service.

    A push journal says where its files went (the account is the truth): its
    destination decides, whatever is configured now. Other inputs, and
    journals older than destinations, follow what a push would do today: the
    embedded service when no Decoo account is configured. Its pins are held
    nowhere else, so it is then the only gateway that can prove them.
    """
    if isinstance(source, JournalInput):
        found = read_found(source.path)
        label = found.destination if found is not None else None
        if label:
            return Destination.label_is_embedded(label)
    return not account_configured(profile, None)


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"--since {text!r}: give a date, YYYY-MM-DD[THH:MM[:SS]]"
                               " (local time unless it says its zone)") from None
    return when.timestamp()  # a naive time is local, as the user wrote it


def _journal_input(path: Path) -> tuple[JournalInput, CidProfile | None]:
    """A push journal named by --journal, and the CID profile its files were hashed with.

    A profile with overrides (``--chunk-size``...) has no name to rebuild it by:
    its files are then verified but not hashed again on disk.
    """
    if not path.is_file():
        raise click.UsageError(f"--journal {path}: no such file")
    found = read_found(path)
    if found is not None and found.kind == "pin":
        raise click.UsageError(f"--journal {path} is a `bulkpin pin` journal: give its CIDs"
                               " with --from")
    try:
        with Journal(path, profile_name=None, read_only=True) as journal:
            kind = journal.profile_name or ""
    except JOURNAL_ERRORS as exc:
        raise click.UsageError(f"--journal {path}: not a push journal ({exc})") from None
    return JournalInput(path, kind), PROFILES.get(kind)


def _input(paths: tuple[str, ...], journal: Path | None, manifest: Path | None,
           from_spec: str | None, profile: CidProfile,
           account: str | None) -> tuple[VerifyInput, CidProfile | None]:
    given = [bool(paths), journal is not None, manifest is not None, from_spec is not None]
    if sum(given) != 1:
        raise click.UsageError("give one input: PATH..., --journal, --manifest or --from")
    if journal is not None:
        return _journal_input(journal)
    if manifest is not None:
        try:
            format_of(manifest)
        except ManifestReadError as exc:
            raise click.UsageError(str(exc)) from None
        if not manifest.is_file():
            raise click.UsageError(f"--manifest {manifest}: no such file")
        return ManifestInput(manifest), None
    if from_spec is not None:
        if from_spec.strip() != "-" and not Path(from_spec).expanduser().is_file():
            raise click.UsageError(f"--from {from_spec}: no such file")
        return CidListInput(from_spec), None
    # PATHs: the journal `bulkpin status` finds for them (exit 2 if none or several).
    found = push_journal_of(paths, False, None, PushOptions(profile=profile,
                                                            selection=Selection()),
                            (account, None))
    return JournalInput(found, profile.name), profile


async def _run(source: VerifyInput, options: VerifyOptions, profile: CidProfile | None,
               renderer: Renderer, embedded: bool) -> VerifySummary:
    def notice(message: str) -> None:
        renderer(NoticeEvent(message))

    async def run(stop: anyio.Event) -> VerifySummary:
        if not embedded:
            return await verify_all(source, options, profile=profile, on_event=renderer,
                                    stop=stop)
        # Imported only when used, as push does: it loads the whole local service.
        from ..embedded import EmbeddedService  # noqa: PLC0415

        # Started as push starts it (the same data dir), and only for this run:
        # its Cloud URL is its trustless gateway.
        with EmbeddedService() as service:
            local = dataclasses.replace(options, gateways=(service.cloud_url,))
            return await verify_all(source, local, profile=profile, on_event=renderer,
                                    stop=stop)

    return await run_stoppable(
        run, "Stopping: no new check starts; checks in flight get"
             f" {options.grace:g} s to finish.", notice)


@click.command("verify")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str), metavar="[PATH]...")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Verify the files of this push journal.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Verify the file rows of this push manifest (.jsonl or .csv).")
@click.option("--from", "from_spec", metavar="CIDS", default=None,
              help="Verify the CIDs of this list (one per line, an optional name after it);"
                   " '-' for stdin.")
@click.option("--gateway", "gateways", multiple=True, metavar="URL",
              help="A trustless gateway to fetch from; repeat for more, tried in order"
                   f" [default: {', '.join(DEFAULT_GATEWAYS)}, after the profile's own"
                   " Cloud URL when it is a local service; the embedded local service"
                   " alone when the pins are there].")
@click.option("--sample", default=None, metavar="N|P%",
              help="Check only N CIDs, or P per cent of them, chosen by --seed.")
@click.option("--seed", default="0", show_default=True,
              help="What chooses the sample: the same seed, the same sample.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=DEFAULT_VERIFY_CONCURRENCY,
              show_default=True, help="CIDs checked at once.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT,
              show_default=True, help="Seconds one gateway answer (a whole CAR, or one block)"
                                      " may take before that attempt fails.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable events on stdout.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.jsonl|.csv", help="Write one row per CID at the end: outcome,"
                                              " gateway, ttfb, bytes/s, missing blocks,"
                                              " failures per gateway.")
@logging_options(quiet="Only findings, warnings and the summary.")
@click.option("--since", default=None, metavar="DATE",
              help="Check again what an earlier run proved retrievable before DATE.")
@click.option("--verify-journal", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The verification journal [default: one per input and sample"
                                 " in the user state directory].")
@click.option("--profile", "profile", default=None, envvar="BULKPIN_PROFILE",
              help="The account whose push journal PATHs name, and whose local service"
                   " (a loopback Cloud URL) is also a gateway [env: BULKPIN_PROFILE].")
@cid_profile_options
def verify_command(
    paths: tuple[str, ...], journal: Path | None, manifest: Path | None,
    from_spec: str | None, gateways: tuple[str, ...], sample: str | None, seed: str,
    concurrency: int, timeout: float, as_json: bool, report: Path | None, quiet: bool,
    verbose: int, log_file: Path | None, log_format: str, since: str | None,
    verify_journal: Path | None, profile: str | None,
    cid_profile: str | None, chunk_size: int | None, max_links: int | None,
    raw_leaves: bool | None, cid_version: int | None,
) -> None:
    """Prove that pushed or pinned CIDs can be fetched from IPFS gateways, block by block.

    The CIDs come from the push journal of PATHs (as `bulkpin status` finds it),
    --journal, --manifest or --from. Each is fetched as a CAR from the gateways in
    turn, every block checked against its CID, and ends retrievable, incomplete,
    corrupt, wrong-size or unreachable. A file of PATHs whose content on disk is
    no longer what was pushed is told too. Resumable: a CID proven retrievable is
    not checked again (unless --since). Exit status: 0 all retrievable, 1 some are
    not (or files changed), 2 usage error, 3 interrupted (resumable).
    """
    configure_logging(verbose, quiet, log_file, log_format)
    try:
        parsed_sample = Sample.parse(sample, seed) if sample is not None else None
        if report is not None:
            format_of(report)
    except (ValueError, ManifestReadError) as exc:
        raise click.UsageError(str(exc)) from exc
    cids = build_profile(cid_profile, chunk_size, max_links, raw_leaves, cid_version)
    source, disk_profile = _input(paths, journal, manifest, from_spec, cids, profile)
    embedded = not gateways and _pinned_in_embedded(source, profile)
    options = VerifyOptions(
        gateways=_gateways(gateways, profile), concurrency=concurrency, timeout=timeout,
        sample=parsed_sample, since=_since(since), journal=verify_journal, report=report,
    )
    renderer = _renderer(as_json, quiet)
    run_and_exit(lambda: anyio.run(_run, source, options, disk_profile, renderer, embedded),
                 renderer)

