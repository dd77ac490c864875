"""A pin manifest on a full disk: named, the summary kept, no temp file left (as push's).

Before, pin's writer had its own loop: the OSError ended the run with a
traceback and left ``.m.jsonl.tmp`` behind. The manifest's directory is a
small tmpfs (``tests/support/small_disk.py``): the CIDs pin, then it does not fit.
"""

from __future__ import annotations

from pathlib import Path

import anyio

from bulkpin.client import DecooClient, load_credentials
from bulkpin.core.errors import ExitStatus
from bulkpin.migrate import MigrateEvent, NoticeEvent, PinOptions, migrate
from bulkpin.sources import CidListSource
from tests.fixtures.journals.make_journals import pin_cids
from tests.support.push import POLL_INTERVAL, all_pins
from tests.support.service import ServiceProcess
from tests.support.small_disk import small_tmpfs


def test_a_pin_manifest_that_does_not_fit(service: ServiceProcess, tmp_path: Path) -> None:
    cids = pin_cids(300, "a-rather-long-tag-to-make-every-manifest-row-longer")
    listing = tmp_path / "cids.txt"
    listing.write_text("".join(f"{cid} name-{i}\n" for i, cid in enumerate(cids)))
    journal = tmp_path / "j.sqlite"
    notices: list[str] = []

    def heard(event: MigrateEvent) -> None:
        if isinstance(event, NoticeEvent):
            notices.append(event.message)

    with small_tmpfs(tmp_path / "disk", "32k") as disk:
        out = disk / "m.jsonl"

        async def run() -> ExitStatus:
            options = PinOptions(journal=journal, manifest=out, poll_interval=POLL_INTERVAL)
            credentials = load_credentials(profile=service.profile_path, env={})
            async with DecooClient(credentials) as client:
                summary = await migrate(CidListSource(listing), options, source_key="full",
                                        client=client, on_event=heard)
            assert summary.reason == "done, but the manifest could not be written"
            assert summary.manifest is None
            return summary.exit_status

        status = anyio.run(run)
        assert sorted(p.name for p in disk.iterdir()) == []  # no m.jsonl, no .m.jsonl.tmp
    assert status == ExitStatus.FAILED
    assert any(m.startswith(f"error: cannot write the manifest {out}: No space left on device;"
                            " every row is in the journal: run the same `bulkpin pin` again")
               for m in notices), notices
    assert {p["PinHash"] for p in all_pins(service)} >= set(cids)
