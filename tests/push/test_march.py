"""The one rule every planner asks (:func:`bulkpin.core.march.march`), case by case."""

from __future__ import annotations

import pytest

from bulkpin.core.march import MarchState, Step, file_state, march
from bulkpin.push.account_index import Held

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


class _Index:
    """An account index over a dict: the march only asks ``holds``."""

    def __init__(self, held: dict[str, Held]) -> None:
        self.held = held

    def holds(self, cid: str) -> Held | None:
        return self.held.get(cid)


PINNED = _Index({CID: Held(CID, True)})
QUEUED = _Index({CID: Held(CID, False, "job-1")})
EMPTY = _Index({})


def _march(state: MarchState, index: _Index | None, *, ask_held: bool = False,
           seen_run: int | None = 1) -> Step:
    return march(state, CID, seen_run=seen_run, run_id=2, index=index, ask_held=ask_held)


def test_an_item_met_twice_in_a_run_is_taken_once() -> None:
    assert _march("discovered", PINNED, seen_run=2).verdict == "again"


@pytest.mark.parametrize("index", [EMPTY, QUEUED])
def test_a_pin_the_account_no_longer_holds_is_lost(index: _Index) -> None:
    # A job not yet final keeps no pin: it may still fail.
    assert _march("pinned", index).verdict == "lost"
    assert _march("pinned", index, ask_held=True).verdict == "lost"


def test_without_an_index_the_journal_is_trusted() -> None:
    assert _march("pinned", None).verdict == "skip"
    assert _march("sending", None) == Step("send", verify=True)
    assert _march("sending", None, ask_held=True) == Step("send", verify=True)


def test_a_pin_the_account_holds_and_a_sent_item_need_nothing() -> None:
    assert _march("pinned", PINNED).verdict == "skip"
    assert _march("sent", EMPTY).verdict == "skip"
    # A CID source is told what the index says of a sent one (its job may be done).
    assert _march("sent", PINNED, ask_held=True) == Step("skip", held=Held(CID, True))


def test_only_a_cid_source_asks_whether_the_account_holds_it() -> None:
    assert _march("discovered", QUEUED, ask_held=True) == \
        Step("held", held=Held(CID, False, "job-1"))
    # Bytes are hashed before the account can be asked: the mover asks.
    assert _march("discovered", QUEUED) == Step("send")


@pytest.mark.parametrize("state", ["sending", "failed"])
def test_what_an_earlier_run_may_have_sent_is_looked_for_first(state: MarchState) -> None:
    assert _march(state, EMPTY) == Step("send", verify=True)
    # A fresh index asked of the CID would have shown its job: nothing to look for.
    assert _march(state, EMPTY, ask_held=True) == Step("send", verify=False)
    assert _march("discovered", EMPTY) == Step("send", verify=False)


def test_the_items_states_are_the_march_s() -> None:
    # One items table for push's files and pin's CIDs (schema 4): one mapping.
    assert [file_state(s) for s in ("discovered", "uploading", "uploaded", "pinned", "gone")] \
        == ["discovered", "sending", "sent", "pinned", "gone"]
