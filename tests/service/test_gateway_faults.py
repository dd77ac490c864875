"""--gateway-faults: parsing, and decisions that depend on the seed, kind and CID alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bulkpin.service import FaultSpecError, parse_gateway_faults
from bulkpin.unixfs.node import RAW, make_cid


@pytest.mark.parametrize("spec", ["missing", "lost=0.1", "corrupt=x", "stall=2", "notfound=-1"])
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        parse_gateway_faults(spec)


def test_a_bad_spec_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bulkpin", "serve", "--data-dir", str(tmp_path), "--init-only",
         "--gateway-faults", "teapot=0.5"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "unknown gateway fault 'teapot'" in result.stderr


def test_decisions_replay_and_follow_the_rate() -> None:
    cids = [make_cid(1, RAW, i.to_bytes(4, "big")) for i in range(2000)]
    plan = parse_gateway_faults("missing=0.25,corrupt=1", seed=5)
    missing = [c for c in cids if plan.hits("missing", c)]
    assert missing == [c for c in reversed(cids) if plan.hits("missing", c)][::-1]
    assert 400 < len(missing) < 600
    assert all(plan.hits("corrupt", c) for c in cids)
    assert not any(plan.hits("stall", c) for c in cids)
    other_seed = parse_gateway_faults("missing=0.25", seed=6)
    assert missing != [c for c in cids if other_seed.hits("missing", c)]
