"""The supervisor: start writers, kill them at random, restart them, then check."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from consent import create_app, db, migrate
from consent.errors import IntegrityAlarm, VerificationError
from consent.ledger.checkpoint import open_checkpoint
from consent.ledger.merkle import consistency_proof, verify_consistency
from consent.ledger.state import replay
from consent.models import LedgerEntry
from consent.services import accounts, integrity, ledger, platforms
from tests.conftest import PASSWORD, test_settings
from tests.crash import writer

PEOPLE = ("ada@example.org", "grace@example.org")
#: The `consent` console script beside this interpreter: the offline verifier a person runs.
CONSENT = Path(sys.executable).with_name("consent")
#: How long a writer may take to start (load the app, log in) before the run gives up.
START_TIMEOUT = 60.0


@dataclass
class Result:
    kills: int = 0
    acknowledged: int = 0
    recorded: int = 0
    lost: list[str] = field(default_factory=list)
    forks: list[str] = field(default_factory=list)
    checkpoints_checked: int = 0
    exports_verified: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.forks or self.problems)

    def summary(self) -> str:
        return (
            f"{self.kills} kills, {self.acknowledged} decisions acknowledged, {self.recorded} events recorded, "
            f"{len(self.lost)} lost, {len(self.forks)} forks, {self.checkpoints_checked} checkpoints checked, "
            f"{self.exports_verified} exports verified offline, {len(self.problems)} other problems, "
            f"{self.seconds:.0f} s"
        )


@dataclass
class _Slot:
    email: str
    log: Path
    name: str
    started: int = 0
    pid: int = 0

    @property
    def ready(self) -> Path:
        # One file per incarnation: a new writer's is absent until it has logged in.
        return self.log.with_name(f"{self.name}-{self.started}")


def run(database_url: str, workdir: Path, *, kills: int, writers_per_person: int = 2, seed: int = 1) -> Result:
    """Writers (``writers_per_person`` for each of two people, so they also race for each
    person's lock), ``kills`` SIGKILLs, each at a random moment while the victim appends
    (after it has started and logged in), then the checks."""
    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 (when to kill, not a secret)
    settings = test_settings(database_url)
    app = create_app(settings)
    with app.app_context():
        migrate.upgrade(db.engine())
        for email in PEOPLE:
            accounts.register(db.session(), app.extensions["consent.accounts"], email=email, password=PASSWORD)
        db.engine().dispose()  # a forked writer must not share the supervisor's connections
    slots = [
        _Slot(email, workdir / f"ack-{n}-{w}.log", f"p{n}w{w}")
        for n, email in enumerate(PEOPLE)
        for w in range(writers_per_person)
    ]

    def start(slot: _Slot) -> None:
        slot.started += 1
        pid = os.fork()
        if pid == 0:  # the writer: never returns into the supervisor's (or pytest's) code
            try:
                with slot.log.with_suffix(".err").open("a") as err, contextlib.redirect_stderr(err):
                    try:
                        writer.append_forever(create_app(settings), slot.email, slot.log, slot.ready)
                    except BaseException:
                        traceback.print_exc()  # why it stopped, for _wait_until_ready's message
            finally:
                os._exit(1)
        slot.pid = pid

    result = Result()

    def kill(slot: _Slot) -> None:
        if os.waitpid(slot.pid, os.WNOHANG) != (0, 0):  # a writer never stops by itself: a finding
            error = slot.log.with_suffix(".err").read_text().strip().splitlines()
            result.problems.append(f"writer {slot.name} stopped by itself: {error[-1] if error else 'no error'}")
            return
        os.kill(slot.pid, signal.SIGKILL)
        os.waitpid(slot.pid, 0)

    for slot in slots:
        start(slot)
    try:
        for _ in range(kills):
            victim = rng.choice(slots)
            _wait_until_ready(victim)
            time.sleep(rng.uniform(0.005, 0.5))  # somewhere in its appends: mid-transaction, mid-commit, mid-log
            kill(victim)
            result.kills += 1
            start(victim)
        for slot in slots:  # the last stretch: every writer appends before the final kill
            _wait_until_ready(slot)
        time.sleep(0.3)
    finally:
        for slot in slots:
            kill(slot)
    _check(app, workdir, [(slot.email, slot.log) for slot in slots], result)
    with app.app_context():
        db.engine().dispose()
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]  # WAL stays set in the file
        if verdict != "ok":
            result.problems.append(f"PRAGMA integrity_check: {verdict}")
        if journal != "wal":
            result.problems.append(f"the writers ran in journal mode {journal}, not WAL as the app sets it")
    result.seconds = time.monotonic() - started
    return result


def _wait_until_ready(slot: _Slot) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not slot.ready.exists():
        if os.waitpid(slot.pid, os.WNOHANG) != (0, 0):
            raise RuntimeError(f"writer {slot.name} stopped before it was killed: see {slot.log.with_suffix('.err')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"writer {slot.name} did not start within {START_TIMEOUT:.0f} s")
        time.sleep(0.01)


def _check(app: Any, workdir: Path, slots: list[tuple[str, Path]], result: Result) -> None:
    with app.app_context():
        s = db.session()
        settings = app.extensions["consent.accounts"]
        for number, email in enumerate(PEOPLE):
            acknowledged = [
                json.loads(line)
                for who, log in slots
                if who == email and log.exists()
                for line in log.read_text().splitlines()
                if line.strip()
            ]
            result.acknowledged += len(acknowledged)
            login = accounts.log_in(s, settings, email=email, password=PASSWORD)
            # Read without the app's check first: what was lost or forked is reported even
            # when the records beside the ledger would raise the alarm.
            recorded = list(ledger.iter_events(s, login, checked=False))
            result.recorded += len(recorded)
            result.lost += [f"{email}: {ack}" for ack in acknowledged if not _recorded(ack, recorded)]
            seen = sorted({ack["checkpoint"] for ack in acknowledged if ack["checkpoint"]})
            _check_checkpoints(s, login, email, seen, result)
            try:
                integrity.check(s, login)  # what the app checks before every page
                projected = ledger.projected_state(s, login)
            except IntegrityAlarm as alarm:
                result.problems += [f"{email}: {kind}: {detail}" for kind, detail in alarm.problems]
                continue
            check = ledger.verify(s, login)  # every event, every checkpoint, the head, the seal
            if not check.ok:
                result.problems += [f"{email}: {p}" for p in check.problems]
                result.problems += [f"{email}: {kind}: {detail}" for kind, detail in check.records]
            _verify_export(s, login, email, workdir / f"person-{number}", seen, result)
            # The projection equals a rebuild from the events: replayed here, and rebuilt by
            # the app's own recovery (which refuses if anything disagrees with the seal).
            if projected != replay(recorded):
                result.problems.append(f"{email}: the projection differs from a replay of the events")
            before = _listing(s, login)
            try:
                ledger.recover(s, login)
            except IntegrityAlarm as alarm:
                result.problems += [f"{email}: recover: {kind}: {detail}" for kind, detail in alarm.problems]
                continue
            if _listing(s, login) != before:
                result.problems.append(f"{email}: the projection differs from the app's rebuild from the events")


def _recorded(ack: dict[str, Any], recorded: list[dict[str, Any]]) -> bool:
    """Whether the acknowledged decision is among the events, as acknowledged."""
    if "index" in ack:
        index = ack["index"]
        event = recorded[index] if index < len(recorded) else {}
        return bool(event.get("type") == ack["type"] and event.get("use") == ack["use"])
    about = "use" if "use" in ack else "platform"
    return any(event["type"] == ack["type"] and event.get(about) == ack[about] for event in recorded)


def _check_checkpoints(s: Any, login: Any, email: str, seen: list[str], result: Result) -> None:
    """Every checkpoint a writer saw verifies with the person's key and is a prefix of the
    final tree: a consistency proof (RFC 9162) from it to the final signed head checks out."""
    key = integrity.verifier_key(login)
    final_note = ledger.latest_checkpoint(s, login.user)
    if final_note is None:
        result.problems.append(f"{email}: no final checkpoint")
        return
    final = open_checkpoint(final_note, key)
    leaves = list(
        s.scalars(
            sa.select(LedgerEntry.leaf_hash).where(LedgerEntry.user_id == login.user.id).order_by(LedgerEntry.index)
        )
    )
    for note in seen:
        result.checkpoints_checked += 1
        try:
            checkpoint = open_checkpoint(note, key)
            if checkpoint.size > final.size:
                raise VerificationError(f"the final tree ({final.size}) is smaller: rolled back")
            proof = consistency_proof(leaves[: final.size], checkpoint.size, final.size)
            verify_consistency(checkpoint.size, final.size, proof, checkpoint.root, final.root)
        except (VerificationError, ValueError) as e:
            result.forks.append(f"{email}: checkpoint of size {note.splitlines()[1]}: {e}")


def _verify_export(s: Any, login: Any, email: str, folder: Path, seen: list[str], result: Result) -> None:
    """Export the ledger and run the offline `consent verify` on it, every signature
    checked, pinned to the person's key and to every checkpoint the writers saw."""
    folder.mkdir()
    bundle_file = folder / "bundle.json"
    with bundle_file.open("w", encoding="utf-8") as out:
        try:
            ledger.export(s, login, out)
        except VerificationError as e:  # an empty ledger: no writer got anywhere
            result.problems.append(f"{email}: export: {e}")
            return
    held = []
    for n, note in enumerate(seen):
        path = folder / f"seen-{n}.checkpoint"
        path.write_text(note, encoding="utf-8")
        held += ["--held", str(path)]
    key = str(integrity.verifier_key(login))
    command = [str(CONSENT), "verify", str(bundle_file), "--key", key, "--all-signatures", *held]
    verdict = subprocess.run(command, capture_output=True, text=True, check=False)
    if verdict.returncode != 0 or "signed by the expected key" not in verdict.stdout:
        result.problems.append(
            f"{email}: consent verify of the export: {verdict.returncode}: {verdict.stderr.strip()[:500]}"
        )
    else:
        result.exports_verified += 1


def _listing(s: Any, login: Any) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return sorted(
        (view.id, view.state.name, sorted((u.id, u.status) for u in view.uses))
        for view in platforms.list_platforms(s, login, archived=None)
    )
