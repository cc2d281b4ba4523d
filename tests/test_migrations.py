"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from consent import migrate
from consent.db import make_engine
from consent.models import Base


def _differences(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, Base.metadata)


def test_upgrade_from_empty_to_head_leaves_nothing_between_models_and_migrations(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    assert _differences(engine) == []
    tables = set(sa.inspect(engine).get_table_names())
    assert {"users", "profiles", "logins", "alembic_version"} <= tables
    engine.dispose()


def test_downgrade_to_base_and_up_again(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert _differences(engine) == []
    engine.dispose()


def test_one_head_only():
    from alembic.config import Config

    from consent.resources import resource_dir

    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_commits_are_durable(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            assert conn.exec_driver_sql("SHOW fsync").scalar() == "on"
        else:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def _old_account(conn: sa.Connection, user_id: uuid.UUID) -> None:
    """An account row as the first revisions wrote it (the columns they all share)."""
    users = sa.table(
        "users",
        *(sa.column(name) for name in ("email_lookup", "email", "password_hash", "password_salt", "password_kdf")),
        *(sa.column(name) for name in ("dek_by_password", "recovery_salt", "dek_by_recovery", "signing_public_key")),
        sa.column("id", sa.Uuid()),
        sa.column("signing_private_key"),
        sa.column("created_at", sa.DateTime()),
    )
    conn.execute(
        users.insert().values(
            id=user_id,
            email_lookup=b"l" * 32,
            email=b"\x01e",
            password_hash="h",
            password_salt=b"s" * 16,
            password_kdf="t=1,m=64,p=1",
            dek_by_password=b"w",
            recovery_salt=b"r" * 16,
            dek_by_recovery=b"w",
            signing_public_key=b"k" * 32,
            signing_private_key=b"\x01p",
            created_at=datetime(2026, 1, 1),
        )
    )


def test_upgrade_gives_existing_accounts_an_empty_ledger(database_url):
    """An instance created before the ledger existed: its accounts get a ledger head."""
    engine = make_engine(database_url)
    migrate.upgrade(engine, "9fafa792d8d7")  # accounts, before the ledger
    with engine.begin() as conn:
        _old_account(conn, uuid.uuid4())
    migrate.upgrade(engine)
    with engine.connect() as conn:
        heads = conn.execute(sa.text("SELECT size, frontier FROM ledger_heads")).all()
    assert [(size, bytes(frontier)) for size, frontier in heads] == [(0, b"")]
    assert _differences(engine) == []
    engine.dispose()


def test_upgrade_leaves_existing_ledgers_unsealed_until_their_owner_seals_them(database_url):
    """The sealed manifest needs the person's key: the migration adds an empty column, and
    the person checks and seals their records from their signed ledger (tests/test_integrity.py)."""
    engine = make_engine(database_url)
    migrate.upgrade(engine, "508267f25efb")
    user_id = uuid.uuid4()
    with engine.begin() as conn:
        _old_account(conn, user_id)
        heads = sa.table("ledger_heads", sa.column("user_id", sa.Uuid()), sa.column("size"), sa.column("frontier"))
        conn.execute(heads.insert().values(user_id=user_id, size=0, frontier=b""))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT size, manifest FROM ledger_heads")).all() == [(0, None)]
    assert _differences(engine) == []
    migrate.downgrade(engine, "508267f25efb")
    assert "manifest" not in {c["name"] for c in sa.inspect(engine).get_columns("ledger_heads")}
    engine.dispose()


def test_upgrade_keeps_existing_logins_whole_and_adds_no_second_factor(database_url):
    """Logins opened before second factors existed stay complete (not pending), with no
    device description; nobody has a factor until they add one."""
    engine = make_engine(database_url)
    migrate.upgrade(engine, "3c1f0a9d2b7e")
    user_id = uuid.uuid4()
    with engine.begin() as conn:
        _old_account(conn, user_id)
        logins = sa.table(
            "logins",
            sa.column("lookup"),
            sa.column("user_id", sa.Uuid()),
            sa.column("wrapped_dek"),
            sa.column("created_at", sa.DateTime()),
            sa.column("last_seen_at", sa.DateTime()),
        )
        at = datetime(2026, 11, 1)
        conn.execute(logins.insert().values(lookup=b"x" * 32, user_id=user_id, wrapped_dek=b"w", created_at=at, last_seen_at=at))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT pending, factor_failures, factor_confirmed_at, device FROM logins")).one()
        assert (bool(row[0]), row[1], row[2], row[3]) == (False, 0, None, None)
        assert conn.execute(sa.text("SELECT count(*) FROM second_factors")).scalar() == 0
    assert _differences(engine) == []
    migrate.downgrade(engine, "3c1f0a9d2b7e")
    assert "second_factors" not in sa.inspect(engine).get_table_names()
    engine.dispose()
