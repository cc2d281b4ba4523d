"""`consent backup` and `consent restore`: a consistent copy taken while writers append, the
secrets that open it sealed under a passphrase, witnesses asked before an older state comes
back, and every damaged file refused with nothing written.

SQLite tests use a SQLite file of their own whatever CONSENT_TEST_DATABASE_URL says; the
PostgreSQL test runs the pg_dump / pg_restore commands of docs/operations.md against the
server at 127.0.0.1:5432."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask import Flask

from consent import cli, create_app, db, migrate
from consent.models import Base
from consent.services import accounts, integrity, ledger, platforms
from tests.conftest import PASSWORD, test_settings
from tests.test_witness_flow import witness  # noqa: F401  (a fixture: a witness served in a thread)

PASSPHRASE = "seven lanterns over the bay"
ADA = "ada@example.org"


class Instance:
    """An instance folder with its config.toml, as an operator has it."""

    def __init__(self, folder: Path, *, database_url: str | None = None, with_secrets: bool = True, **extra: Any):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.config = folder, folder / "config.toml"
        self.url = database_url or f"sqlite:///{folder / 'consent.db'}"
        lines = [f"database_url = {json.dumps(self.url)}"]
        if with_secrets:
            lines += [f'secret_key = "{secrets.token_hex(32)}"', f'email_lookup_key = "{secrets.token_hex(32)}"']
        lines += ["argon2_time_cost = 1", "argon2_memory_kib = 64", "argon2_parallelism = 1"]
        lines += [f"{name} = {json.dumps(value)}" for name, value in extra.items()]
        self.config.write_text("\n".join(lines) + "\n")
        self.apps: list[Flask] = []

    @property
    def env(self) -> dict[str, str]:
        return {"CONSENT_CONFIG": str(self.config), "CONSENT_INSTANCE": str(self.folder)}

    def settings(self) -> dict[str, Any]:
        found = {k.upper(): v for k, v in tomllib.loads(self.config.read_text()).items()}
        return test_settings(self.url, **found)

    def app(self, *, upgrade: bool = True) -> Flask:
        app = create_app(self.settings())
        if upgrade:
            with app.app_context():
                migrate.upgrade(db.engine())
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            with app.app_context():
                db.engine().dispose()

    @property
    def database(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[Any]:
    made: list[Instance] = []

    def make(name: str, **kwargs: Any) -> Instance:
        instance = Instance(tmp_path / name, **kwargs)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.close()


def register(app: Flask, email: str = ADA) -> None:
    with app.app_context():
        new = accounts.register(db.session(), app.extensions["consent.accounts"], email=email, password=PASSWORD)
        accounts.log_out(db.session(), new.login.token)


def add_platforms(app: Flask, count: int, email: str = ADA) -> None:
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email=email, password=PASSWORD)
        for n in range(count):
            platforms.add_platform(s, login, {"name": f"Platform {uuid.uuid4().hex[:6]} {n}"})
        accounts.log_out(s, login.token)


def ledger_of(app: Flask, email: str = ADA) -> tuple[int, bool]:
    """How many events the person's ledger holds, and whether it verifies (app check included)."""
    with app.app_context():
        s = db.session()
        login = accounts.log_in(s, app.extensions["consent.accounts"], email=email, password=PASSWORD)
        integrity.check(s, login)
        check = ledger.verify(s, login)
        events = len(list(ledger.iter_events(s, login)))
        accounts.log_out(s, login.token)
        return events, check.ok


def take_backup(app: Flask, path: Path, passphrase: str = PASSPHRASE) -> Result:
    return app.test_cli_runner().invoke(args=["backup", str(path)], input=passphrase + "\n")


def restore(instance: Instance, path: Path, *args: str, passphrase: str = PASSPHRASE) -> Result:
    return CliRunner().invoke(cli.main, ["restore", str(path), *args], input=passphrase + "\n", env=instance.env)


def rows(app: Flask) -> dict[str, int]:
    skip = {"logins", "failed_attempts"}  # the server's own: log-ins made after the backup
    with app.app_context(), db.engine().connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables
            if t.name not in skip
        }


@pytest.fixture
def backed_up(instances: Any, tmp_path: Path) -> tuple[Instance, Flask, Path]:
    """Instance A with Ada's five decisions, and a backup of it."""
    a = instances("a")
    app = a.app()
    register(app)
    add_platforms(app, 5)
    path = tmp_path / "a.backup"
    result = take_backup(app, path)
    assert result.exit_code == 0, result.output
    return a, app, path


def test_a_backup_restores_every_account_into_a_fresh_instance(backed_up, instances):
    a, app_a, path = backed_up
    events, ok = ledger_of(app_a)
    assert events == 5 and ok
    b = instances("b", with_secrets=False)  # a new machine: no secrets of its own
    result = restore(b, path, "--no-witnesses")
    assert result.exit_code == 0, result.output
    assert f"1 ledgers, {events} events" in result.output
    restored = tomllib.loads(b.config.read_text())
    original = tomllib.loads(a.config.read_text())
    assert restored["secret_key"] == original["secret_key"]
    assert restored["email_lookup_key"] == original["email_lookup_key"]
    assert restored["database_url"] == b.url  # the rest of B's settings kept as they were
    assert b.config.stat().st_mode & 0o777 == 0o600
    app_b = b.app(upgrade=False)
    assert ledger_of(app_b) == (events, True)  # Ada logs in: the lookup key came back with the data
    assert rows(app_b) == rows(app_a)
    with contextlib.closing(sqlite3.connect(b.database)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    add_platforms(app_b, 1)  # the ledger goes on on B
    assert ledger_of(app_b) == (events + 1, True)


def test_the_backup_file_is_private_and_shows_no_secret(backed_up):
    a, _, path = backed_up
    assert path.stat().st_mode & 0o777 == 0o600
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["description.json", "secrets.age", "database.age"]
    description = _description(path)
    content = path.read_bytes()
    settings = tomllib.loads(a.config.read_text())
    for secret in (settings["secret_key"], settings["email_lookup_key"]):
        assert secret.encode() not in content
    assert b"SQLite format 3" not in content  # the database is encrypted too
    secrets_header = content[content.index(b"age-encryption.org/v1\n-> scrypt ") :].split(b"\n")[1]
    assert secrets_header.endswith(b" 18")  # age's usual work factor: 256 MiB, not 1 GiB
    (ledger_description,) = description["ledgers"]
    assert ledger_description["size"] == 5 and ledger_description["origin"].startswith("consent-ledger/")
    assert description["schema_revision"] == migrate.head()
    assert description["database"] == "sqlite" and description["app_version"]
    assert ledger_description["checkpoint"].splitlines()[1] == "5"


def test_the_secrets_are_in_the_age_format_that_pyrage_reads(backed_up):
    """Written by consent/age.py (tests/test_age.py holds the format's own tests)."""
    from pyrage import passphrase as age

    _, _, path = backed_up
    with tarfile.open(path) as tar:
        member = tar.extractfile("secrets.age")
        assert member is not None
        sealed = json.loads(age.decrypt(member.read(), PASSPHRASE))
    assert sealed["format"] == "consent-backup/1" and set(sealed["secrets"]) == {"secret_key", "email_lookup_key"}


def test_a_backup_is_never_written_over_a_file_and_needs_a_long_passphrase(instances, tmp_path):
    app = instances("a").app()
    existing = tmp_path / "existing"
    existing.write_text("keep me")
    result = take_backup(app, existing)
    assert result.exit_code == 1 and "exists: a backup is never written over a file" in result.output
    assert existing.read_text() == "keep me"
    short = take_backup(app, tmp_path / "new.backup", passphrase="short")
    assert short.exit_code == 1 and "the passphrase must have at least 12 characters, got 5" in short.output
    assert not (tmp_path / "new.backup").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".consent-backup")] == []


def _description(path: Path) -> dict[str, Any]:
    with tarfile.open(path) as tar:
        member = tar.extractfile("description.json")
        assert member is not None
        return dict(json.loads(member.read()))


def _damaged(path: Path, how: str) -> Path:
    content = bytearray(path.read_bytes())
    out = path.with_name(f"damaged-{how}")
    with tarfile.open(path) as tar:
        offsets = {m.name: (m.offset_data, m.size) for m in tar.getmembers()}
    if how.startswith("truncated"):
        cut = {
            "truncated-early": 700,
            "truncated-middle": len(content) // 2,
            "truncated-end": sum(offsets["database.age"]) - 100,
        }
        content = content[: cut[how]]
    elif how == "description-edited":
        start, size = offsets["description.json"]
        text = bytes(content[start : start + size]).replace(b'"size": 5', b'"size": 9')
        assert len(text) == size
        content[start : start + size] = text
    elif how == "database-flipped":
        start, size = offsets["database.age"]
        content[start + size // 2] ^= 1
    elif how == "secrets-costly":
        start, size = offsets["secrets.age"]
        header = bytes(content[start : start + 100]).replace(b" 18\n", b" 30\n", 1)
        content[start : start + 100] = header
    elif how == "secrets-flipped":
        start, size = offsets["secrets.age"]
        content[start + size - 10] ^= 1
    elif how == "not-a-backup":
        content = bytearray(b"SQLite format 3\0" + bytes(4096))
    out.write_bytes(bytes(content))
    return out


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("wrong-passphrase", "the passphrase does not open this backup"),
        ("truncated-early", "is not a complete backup (truncated, or not one)"),
        ("truncated-middle", "is not a complete backup (truncated, or not one)"),
        ("truncated-end", "is not a complete backup (truncated, or not one)"),
        ("description-edited", "description.json was changed after the backup was made"),
        ("database-flipped", "database.age is not the database the secrets name"),
        ("secrets-flipped", "secrets.age cannot be opened: the encrypted file is cut short or damaged"),
        ("secrets-costly", "secrets.age cannot be opened: expected a scrypt work factor of at most 2^20, got 2^30"),
        ("not-a-backup", "is not a complete backup (truncated, or not one)"),
    ],
)
def test_a_damaged_backup_or_a_wrong_passphrase_is_refused_with_nothing_written(backed_up, instances, how, reason):
    _, _, path = backed_up
    b = instances("b", with_secrets=False)
    config_before = b.config.read_text()
    damaged = path if how == "wrong-passphrase" else _damaged(path, how)
    passphrase = "not the passphrase at all" if how == "wrong-passphrase" else PASSPHRASE
    result = restore(b, damaged, passphrase=passphrase)
    assert result.exit_code == 1
    assert "refused, nothing written: " in result.output and reason in result.output, result.output
    assert "Traceback" not in result.output
    assert b.config.read_text() == config_before
    assert sorted(p.name for p in b.folder.iterdir()) == ["config.toml"]  # no database, no leftovers


def test_restore_replaces_a_database_with_accounts_only_when_forced(backed_up, instances):
    _, app_a, path = backed_up
    b = instances("b")
    app_b = b.app()
    register(app_b, "grace@example.org")
    add_platforms(app_b, 2, "grace@example.org")
    b.close()
    config_before = b.config.read_text()
    refused = restore(b, path)
    assert refused.exit_code == 1
    assert "the instance's database already holds accounts; to replace it, add --force" in refused.output
    assert b.config.read_text() == config_before
    assert ledger_of(b.app(upgrade=False), "grace@example.org") == (2, True)
    b.close()
    forced = restore(b, path, "--force", "--no-witnesses")
    assert forced.exit_code == 0, forced.output
    app_b = b.app(upgrade=False)
    assert ledger_of(app_b) == (5, True)
    assert rows(app_b) == rows(app_a)  # Grace is gone: the database is the backup's


def test_an_upgraded_but_unused_database_is_not_in_the_way(backed_up, instances):
    _, _, path = backed_up
    b = instances("b")
    b.app()  # `consent db upgrade` run on the new machine first: schema, directory, no account
    b.close()
    result = restore(b, path, "--no-witnesses")
    assert result.exit_code == 0, result.output
    assert ledger_of(b.app(upgrade=False)) == (5, True)


def test_restore_refuses_a_backup_older_than_what_the_witness_saw(instances, tmp_path, witness):  # noqa: F811
    a = instances("a", witnesses=[witness.config])
    app = a.app()
    register(app)
    add_platforms(app, 3)
    path = tmp_path / "a.backup"
    assert take_backup(app, path).exit_code == 0
    add_platforms(app, 4)  # the witness cosigns these: the backup is now 4 behind
    b = instances("b", with_secrets=False, witnesses=[witness.config])
    config_before = b.config.read_text()
    refused = restore(b, path)
    assert refused.exit_code == 1
    origin = _description(path)["ledgers"][0]["origin"]
    assert f"{origin}: witness witness.example/w1 has seen 7 events, the backup holds 3 (4 behind)" in refused.output
    assert "add --accept-rollback" in refused.output
    assert b.config.read_text() == config_before and not b.database.exists()
    accepted = restore(b, path, "--accept-rollback")
    assert accepted.exit_code == 0, accepted.output
    assert "Rollback accepted: " in accepted.output and "(4 behind)" in accepted.output
    assert ledger_of(b.app(upgrade=False)) == (3, True)


def test_restore_goes_ahead_when_the_witness_saw_nothing_newer(instances, tmp_path, witness):  # noqa: F811
    a = instances("a", witnesses=[witness.config])
    app = a.app()
    register(app)
    add_platforms(app, 3)
    path = tmp_path / "a.backup"
    assert take_backup(app, path).exit_code == 0
    b = instances("b", with_secrets=False, witnesses=[witness.config])
    result = restore(b, path)
    assert result.exit_code == 0, result.output
    assert "Rollback" not in result.output
    app_b = b.app(upgrade=False)
    add_platforms(app_b, 1)  # the witness takes B's next checkpoint as the continuation
    assert ledger_of(app_b) == (4, True)


def test_restore_refuses_when_a_witness_cannot_be_asked(instances, tmp_path, witness):  # noqa: F811
    a = instances("a", witnesses=[witness.config])
    app = a.app()
    register(app)
    add_platforms(app, 2)
    path = tmp_path / "a.backup"
    assert take_backup(app, path).exit_code == 0
    witness.server.shutdown()
    witness.server.server_close()
    b = instances("b", with_secrets=False, witnesses=[witness.config], witness_timeout_seconds=1)
    refused = restore(b, path)
    assert refused.exit_code == 1 and "could not ask witness witness.example/w1" in refused.output
    assert not b.database.exists()


def test_the_backup_names_the_witnesses_and_restore_asks_them_on_a_machine_without_any(
    instances,
    tmp_path,
    witness,  # noqa: F811
):
    """The new machine's config names no witness (an operator's blank, or a thief's): the
    backup's own list, sealed with the secrets, is asked all the same."""
    a = instances("a", witnesses=[witness.config], witness_quorum=1)
    app = a.app()
    register(app)
    add_platforms(app, 3)
    path = tmp_path / "a.backup"
    assert take_backup(app, path).exit_code == 0
    add_platforms(app, 4)  # the witness cosigns these: the backup is now 4 behind
    described = _description(path)
    assert described["witnesses"] == [witness.config] and described["witness_quorum"] == 1
    b = instances("b", with_secrets=False)  # no witnesses configured
    config_before = b.config.read_text()
    for args in [(), ("--no-witnesses",)]:  # the backup names one: --no-witnesses skips nothing
        refused = restore(b, path, *args)
        assert refused.exit_code == 1, refused.output
        assert "witness witness.example/w1 has seen 7 events, the backup holds 3 (4 behind)" in refused.output
        assert b.config.read_text() == config_before and not b.database.exists()


def test_a_witness_list_edited_in_the_description_is_refused(instances, tmp_path, witness):  # noqa: F811
    a = instances("a", witnesses=[witness.config])
    app = a.app()
    register(app)
    add_platforms(app, 2)
    path = tmp_path / "a.backup"
    assert take_backup(app, path).exit_code == 0
    content = bytearray(path.read_bytes())
    with tarfile.open(path) as tar:
        member = tar.getmember("description.json")
        start, size = member.offset_data, member.size
    text = bytes(content[start : start + size])
    edited = text.replace(json.dumps(witness.config).encode(), b'"' + b" " * (len(witness.config)) + b'"')
    assert edited != text and len(edited) == size
    content[start : start + size] = edited
    damaged = tmp_path / "edited.backup"
    damaged.write_bytes(bytes(content))
    b = instances("b", with_secrets=False)
    result = restore(b, damaged, "--no-witnesses")
    assert result.exit_code == 1 and "description.json was changed after the backup was made" in result.output
    assert not b.database.exists()


def test_with_no_witness_known_restore_refuses_unless_told_what_is_not_checked(backed_up, instances):
    _, _, path = backed_up  # A had no witnesses: the backup names none
    assert _description(path)["witnesses"] == []
    b = instances("b", with_secrets=False)
    config_before = b.config.read_text()
    refused = restore(b, path)
    assert refused.exit_code == 1
    assert "no witness is known (none in the backup, none configured)" in refused.output
    assert "add --no-witnesses" in refused.output
    assert b.config.read_text() == config_before and not b.database.exists()
    accepted = restore(b, path, "--no-witnesses")
    assert accepted.exit_code == 0, accepted.output
    assert "Not checked: whether this backup is older than what was acknowledged" in accepted.output
    assert ledger_of(b.app(upgrade=False)) == (5, True)


def test_a_backup_of_another_kind_of_database_is_refused(backed_up, instances):
    _, _, path = backed_up
    b = instances("b", with_secrets=False, database_url="postgresql+psycopg://postgres@127.0.0.1:5432/absent")
    result = restore(b, path)
    assert result.exit_code == 1
    assert "expected a backup of a postgresql database (the instance's), got one of sqlite" in result.output


# --- While writers append ---------------------------------------------------------------


def test_a_backup_taken_while_writers_append_restores_every_acknowledged_decision(instances, tmp_path):
    """Four processes (two per person) make decisions through the app's services while the
    backup runs; the restore passes SQLite's integrity check, its ledgers verify, and every
    decision acknowledged before the backup started is in it (tests/crash's checks)."""
    import signal

    from tests.crash import harness, writer

    started = time.monotonic()
    a = instances("a")
    settings = a.settings()
    app = a.app()
    for email in harness.PEOPLE:
        register(app, email)
    with app.app_context():
        db.engine().dispose()  # forked writers must not share the supervisor's connections
    logs = tmp_path / "logs"
    logs.mkdir()
    slots = [
        harness._Slot(email, logs / f"ack-{n}-{w}.log", f"p{n}w{w}")
        for n, email in enumerate(harness.PEOPLE)
        for w in range(2)
    ]
    for slot in slots:
        slot.started = 1
        pid = os.fork()
        if pid == 0:
            try:
                writer.append_forever(create_app(settings), slot.email, slot.log, slot.ready)
            finally:
                os._exit(1)
        slot.pid = pid
    try:
        for slot in slots:
            harness._wait_until_ready(slot)
        time.sleep(1.0)
        acknowledged = {slot.name: _lines(slot.log) for slot in slots}
        path = tmp_path / "live.backup"
        result = take_backup(app, path)
        after = {slot.name: _lines(slot.log) for slot in slots}
        time.sleep(0.3)
        for slot in slots:  # still running: none stopped by itself during the backup
            assert os.waitpid(slot.pid, os.WNOHANG) == (0, 0), logs / f"{slot.log.stem}.err"
    finally:
        for slot in slots:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(slot.pid, signal.SIGKILL)
                os.waitpid(slot.pid, 0)
    assert result.exit_code == 0, result.output
    assert sum(map(len, acknowledged.values())) >= 8  # the writers got going before the backup
    assert sum(map(len, after.values())) > sum(map(len, acknowledged.values()))  # and went on during it

    b = instances("b", with_secrets=False)
    restored = restore(b, path, "--no-witnesses")
    assert restored.exit_code == 0, restored.output
    with contextlib.closing(sqlite3.connect(b.database)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # What the writers were told before the backup began, as the crash harness checks it:
    # every such decision is in the restored ledger, every checkpoint they saw is a prefix of
    # it, integrity check, ledger.verify, an offline-verified export, projection = replay.
    before = tmp_path / "acknowledged-before"
    before.mkdir()
    kept = []
    for slot in slots:
        log = before / slot.log.name
        log.write_text("".join(line + "\n" for line in acknowledged[slot.name]))
        kept.append((slot.email, log))
    check = harness.Result()
    harness._check(b.app(upgrade=False), before, kept, check)
    assert check.lost == [] and check.forks == [] and check.problems == []
    assert check.acknowledged == sum(map(len, acknowledged.values()))
    assert check.exports_verified == len(harness.PEOPLE)
    with contextlib.closing(sqlite3.connect(a.database)) as conn:
        live = conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]
    seconds = time.monotonic() - started
    print(
        f"\nbackup while appending: {check.acknowledged} decisions acknowledged before it began, "
        f"{sum(map(len, after.values())) - check.acknowledged} while it ran, {check.recorded} events restored, "
        f"{live} in the live database at the end, {seconds:.1f} s"
    )
    assert check.recorded >= check.acknowledged and live >= check.recorded
    assert seconds < 60


def _lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


# --- PostgreSQL: the documented pg_dump / pg_restore ------------------------------------

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _postgres_or_skip() -> tuple[sa.Engine, dict[str, str]]:
    tools = {}
    for tool in ("pg_dump", "pg_restore", "createdb"):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed: the documented PostgreSQL backup cannot run here")
        tools[tool] = found
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as e:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server at 127.0.0.1:5432 (user postgres): {str(e).splitlines()[0]}")
    return admin, tools


def test_postgresql_backup_with_the_documented_commands(instances, tmp_path):
    admin, tools = _postgres_or_skip()
    source, target = f"consent_backup_{secrets.token_hex(4)}", f"consent_restored_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{source}"'))
    opened: list[Instance] = []
    try:
        a = instances("a", database_url=f"{PG_SERVER}/{source}")
        opened.append(a)
        app = a.app()
        register(app)
        add_platforms(app, 4)
        register(app, "grace@example.org")
        add_platforms(app, 2, "grace@example.org")
        secrets_file = tmp_path / "consent.backup"
        result = take_backup(app, secrets_file)
        assert result.exit_code == 0, result.output
        assert "2 ledgers, 6 events" in result.output and "run pg_dump now" in result.output
        with tarfile.open(secrets_file) as tar:
            assert tar.getnames() == ["description.json", "secrets.age"]
        # docs/operations.md, "Backups", PostgreSQL: the commands as written there.
        dump = tmp_path / "consent.dump"
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
        subprocess.run([tools["pg_dump"], "--format=custom", f"--file={dump}", source], check=True, env=env)
        b = instances("b", with_secrets=False, database_url=f"{PG_SERVER}/{target}")
        opened.append(b)
        subprocess.run([tools["createdb"], target], check=True, env=env)
        restored = restore(b, secrets_file, "--no-witnesses")
        assert restored.exit_code == 0, restored.output
        assert "pg_restore" in restored.output
        subprocess.run(
            [
                tools["pg_restore"],
                "--exit-on-error",
                "--no-owner",
                "--single-transaction",
                f"--dbname={target}",
                str(dump),
            ],
            check=True,
            env=env,
        )
        app_b = b.app(upgrade=False)
        assert ledger_of(app_b) == (4, True)
        assert ledger_of(app_b, "grace@example.org") == (2, True)
        assert rows(app_b) == rows(app)
    finally:
        for made in opened:
            made.close()  # before the databases are dropped
        with admin.connect() as conn:
            for name in (source, target):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_restore_warns_when_the_environment_overrides_a_restored_secret(backed_up, instances):
    _, _, path = backed_up
    b = instances("b", with_secrets=False)
    env = {**b.env, "CONSENT_SECRET_KEY": secrets.token_hex(32)}
    result = CliRunner().invoke(cli.main, ["restore", str(path), "--no-witnesses"], input=PASSPHRASE + "\n", env=env)
    assert result.exit_code == 0, result.output
    assert "Warning: CONSENT_SECRET_KEY is set in the environment and overrides the restored value." in result.output
    assert "CONSENT_EMAIL_LOOKUP_KEY" not in result.output
