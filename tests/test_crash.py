"""The crash harness, short (tests/crash): writers killed with SIGKILL at random moments
lose no decision they acknowledged, fork no checkpoint they saw, and leave a ledger that
verifies (in the app and offline, from an export), a projection equal to a rebuild from
the events, and, on SQLite, a database whose integrity check passes. The long run is
`make crash-test`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from consent import db
from consent.ledger.checkpoint import Checkpoint
from consent.models import Platform
from consent.services import accounts, integrity, ledger, platforms
from tests.conftest import PASSWORD
from tests.crash import writer
from tests.crash.harness import PEOPLE, Result, _check, run
from tests.crash.writer import PURPOSE

KILLS = 12


def test_writers_killed_at_random_lose_nothing_they_acknowledged(database_url, tmp_path: Path):
    result = run(database_url, tmp_path, kills=KILLS)
    print(f"\ncrash: {result.summary()}")
    assert result.lost == [] and result.forks == [] and result.problems == []
    assert result.kills == KILLS
    # The checks had something to check: decisions on both people's ledgers, each seen
    # checkpoint proven against the final tree, and both exports verified offline.
    assert result.acknowledged >= 2 * KILLS and result.checkpoints_checked > KILLS
    assert result.recorded >= result.acknowledged  # more where a kill fell between a commit and its log line
    assert result.exports_verified == len(PEOPLE)


def test_a_writer_that_stops_by_itself_is_reported(database_url, tmp_path: Path, monkeypatch):
    def crashing(app: Any, email: str, log: Path, ready: Path) -> None:
        ready.touch()
        raise RuntimeError("database is locked")

    monkeypatch.setattr(writer, "append_forever", crashing)  # the forked writers run this
    result = run(database_url, tmp_path, kills=1)
    assert "writer p0w0 stopped by itself: RuntimeError: database is locked" in result.problems
    assert f"{PEOPLE[0]}: export: the ledger is empty: there is nothing to export yet" in result.problems
    assert result.acknowledged == result.recorded == 0 and not result.ok


def _acknowledged(log: Path, *decisions: dict[str, Any]) -> None:
    log.write_text("".join(json.dumps(decision) + "\n" for decision in decisions))


def test_the_checks_find_what_a_crash_could_do(app, tmp_path: Path, monkeypatch):
    """The checks have teeth: a lost decision, a forked checkpoint, a projection that is
    not what the events add up to (though sealed), and a row deleted behind the app."""
    settings = app.extensions["consent.accounts"]
    with app.app_context():
        s = db.session()
        logins = []
        for email in PEOPLE:
            accounts.register(s, settings, email=email, password=PASSWORD)
            logins.append(accounts.log_in(s, settings, email=email, password=PASSWORD))
        first, last = logins
        deleted = platforms.add_platform(s, first, {"name": "Shopwise Online"})
        kept = platforms.add_platform(s, last, {"name": "Shopwise Online"})
        honest = ledger.latest_checkpoint(s, last.user)
        key = integrity.verifier_key(last)
        forged = Checkpoint(key.name, 1, b"\x01" * 32).sign(integrity.signer(last))  # signed, but another tree
        # The app records a grant but, by a bug, projects no use: the seal covers the rows
        # as they are, so only the replay of the events shows it.
        project = ledger.LedgerWriter._project
        with monkeypatch.context() as patched:
            patched.setattr(ledger.LedgerWriter, "_project", lambda self, *a: project(self, *a[:3], None, None))
            platforms.new_use(s, last, kept, granted=True, use=PURPOSE)
        s.execute(sa.delete(Platform).where(Platform.id == deleted))
        s.commit()
    log = tmp_path / "ack.log"
    _acknowledged(
        log,
        {"type": "platform.added", "platform": str(kept), "checkpoint": honest},
        {"type": "platform.added", "platform": str(uuid.uuid4()), "checkpoint": honest},
        {"type": "use.withdrawn", "use": str(uuid.uuid4()), "index": 0, "checkpoint": forged},
    )
    result = Result()
    _check(app, tmp_path, [(PEOPLE[-1], log)], result)
    assert result.acknowledged == 3 and result.checkpoints_checked == 2
    assert len(result.lost) == 2 and str(kept) not in "".join(result.lost)  # the two made up
    assert len(result.forks) == 1 and result.forks[0].startswith(f"{PEOPLE[-1]}: checkpoint of size 1")
    assert f"{PEOPLE[0]}: missing: platforms:{deleted} was deleted" in result.problems
    assert f"{PEOPLE[-1]}: the projection differs from a replay of the events" in result.problems
    assert any(p.startswith(f"{PEOPLE[-1]}: consent verify of the export: 1: FAILED") for p in result.problems)
    assert f"{PEOPLE[-1]}: the projection differs from the app's rebuild from the events" in result.problems
    assert not result.ok
