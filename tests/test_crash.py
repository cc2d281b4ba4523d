"""The crash harness, short (tests/crash): writers killed with SIGKILL at random moments
lose nothing they acknowledged, fork nothing, and leave a ledger that verifies and a
projection equal to a rebuild. The long run is `make crash-test`."""

from __future__ import annotations

from pathlib import Path

from tests.crash.harness import run

KILLS = 15


def test_writers_killed_at_random_lose_nothing_they_acknowledged(database_url, tmp_path: Path):
    result = run(database_url, tmp_path, kills=KILLS)
    print(f"\ncrash: {result.summary()}")
    assert result.kills == KILLS
    assert result.acknowledged > 0 and result.checkpoints_checked == result.acknowledged
    assert result.lost == [] and result.forks == [] and result.problems == []
    assert result.recorded >= result.acknowledged
