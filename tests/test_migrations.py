"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

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
