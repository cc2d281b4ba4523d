"""The supervisor: start writers, kill them at random, restart them, then check."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from consent import create_app, db, migrate
from consent.models import LedgerCheckpoint
from consent.services import accounts, ledger, platforms

PASSWORD = "plum orchard lantern 42"
PEOPLE = ("ada@example.org", "grace@example.org")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    kills: int = 0
    acknowledged: int = 0
    recorded: int = 0
    lost: list[str] = field(default_factory=list)
    forks: list[str] = field(default_factory=list)
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.forks or self.problems)

    def summary(self) -> str:
        return (
            f"{self.kills} kills, {self.acknowledged} decisions acknowledged, {self.recorded} recorded, "
            f"{len(self.lost)} lost, {len(self.forks)} forks, {self.checkpoints_checked} checkpoints checked, "
            f"{len(self.problems)} other problems, {self.seconds:.0f} s"
        )


def settings_for(database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "s" * 64,
        "EMAIL_LOOKUP_KEY": "e" * 64,
        "DATABASE_URL": database_url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 64,
        "ARGON2_PARALLELISM": 1,
    }


def run(database_url: str, workdir: Path, *, kills: int, writers_per_person: int = 2, seed: int = 1) -> Result:
    """Writers (``writers_per_person`` for each of two people, so they also race for the
    person's lock), ``kills`` SIGKILLs at random moments, then the checks."""
    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 (when to kill, not a secret)
    settings = settings_for(database_url)
    app = create_app(settings)
    with app.app_context():
        migrate.upgrade(db.engine())
        for email in PEOPLE:
            accounts.register(db.session(), app.extensions["consent.accounts"], email=email, password=PASSWORD)
    settings_file = workdir / "settings.json"
    settings_file.write_text(json.dumps(settings))
    slots = [(email, workdir / f"ack-{n}-{w}.log") for n, email in enumerate(PEOPLE) for w in range(writers_per_person)]

    def start(slot: int) -> subprocess.Popen[bytes]:
        email, log = slots[slot]
        return subprocess.Popen(
            [sys.executable, "-m", "tests.crash.writer", str(settings_file), email, str(log), f"s{slot}"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    result = Result()
    processes = [start(n) for n in range(len(slots))]
    try:
        time.sleep(1.5)  # let them log in and start appending
        for _ in range(kills):
            time.sleep(rng.uniform(0.02, 0.35))
            victim = rng.randrange(len(processes))
            processes[victim].send_signal(signal.SIGKILL)
            processes[victim].wait()
            result.kills += 1
            processes[victim] = start(victim)
        time.sleep(0.5)
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            process.wait()
    _check(app, slots, result)
    with app.app_context():
        db.engine().dispose()
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            result.problems.append(f"PRAGMA integrity_check: {verdict}")
    result.seconds = time.monotonic() - started
    return result


def _check(app: Any, slots: list[tuple[str, Path]], result: Result) -> None:
    with app.app_context():
        s = db.session()
        settings = app.extensions["consent.accounts"]
        for email in PEOPLE:
            acknowledged = [
                json.loads(line)
                for _email, log in slots
                if _email == email and log.exists()
                for line in log.read_text().splitlines()
                if line.strip()
            ]
            result.acknowledged += len(acknowledged)
            login = accounts.log_in(s, settings, email=email, password=PASSWORD)
            names = {event["data"].get("name") for event in ledger.iter_events(s, login)}
            result.recorded += len(names)
            result.lost += [a["name"] for a in acknowledged if a["name"] not in names]
            stored = dict(
                s.execute(
                    sa.select(LedgerCheckpoint.size, LedgerCheckpoint.note).where(LedgerCheckpoint.user_id == login.user.id)
                ).all()
            )
            for ack in acknowledged:  # each checkpoint a writer saw is the one the final tree has at that size
                size = int(ack["checkpoint"].splitlines()[1])
                result.checkpoints_checked += 1
                if stored.get(size) != ack["checkpoint"]:
                    result.forks.append(f"{email}: size {size}")
            check = ledger.verify(s, login)  # every checkpoint, and the projection against the seal
            if not check.ok:
                result.problems += [f"{email}: {p}" for p in check.problems] + [f"{email}: {r}" for r in check.records]
            before = _projection(s, login)
            ledger.recover(s, login)  # rebuild from the events
            if _projection(s, login) != before:
                result.problems.append(f"{email}: the projection differs from a rebuild from the events")


def _projection(s: Any, login: Any) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return sorted(
        (view.id, view.state.name, sorted((u.id, u.status) for u in view.uses))
        for view in platforms.list_platforms(s, login, archived=None)
    )
