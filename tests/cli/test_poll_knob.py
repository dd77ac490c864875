"""``BULKPIN_POLL_INTERVAL``: the testing knob the CLI reads where it builds its options."""

from __future__ import annotations

import click
import pytest

from bulkpin.cli.options import POLL_INTERVAL_VARIABLE, poll_interval


def test_unset_or_empty_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLL_INTERVAL_VARIABLE, raising=False)
    assert poll_interval() == 1.0
    assert poll_interval(2.5) == 2.5
    monkeypatch.setenv(POLL_INTERVAL_VARIABLE, "")
    assert poll_interval() == 1.0


def test_a_positive_number_of_seconds_is_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POLL_INTERVAL_VARIABLE, "0.05")
    assert poll_interval() == 0.05


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan"])
def test_anything_else_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(POLL_INTERVAL_VARIABLE, value)
    with pytest.raises(click.UsageError, match=POLL_INTERVAL_VARIABLE):
        poll_interval()
