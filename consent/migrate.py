"""Alembic, driven from the app: `consent db upgrade` / `downgrade` and the tests use this.

The history is a line (one head, one base), so revisions have an order: `resolve` turns what
an operator typed into a revision id (``None`` is the empty database, "base"), and
`position` says where it stands, so that the commands can refuse to go the wrong way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from consent.errors import ConsentError
from consent.resources import resource_dir

#: What an empty database (no revision applied) is called, by Alembic and by our commands.
BASE = "base"


class UnknownRevision(ConsentError):
    """A revision that is not in this version's migrations."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def history() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def head() -> str:
    return history()[-1]


def resolve(revision: str) -> str | None:
    """The revision id ``revision`` names ("head", "base", an id or the start of one);
    None for "base". UnknownRevision, with the known ones, for anything else."""
    if revision == BASE:
        return None
    script = ScriptDirectory.from_config(alembic_config())
    try:
        found = script.get_revision(revision)
    except (CommandError, RevisionError):
        found = None
    if found is None or isinstance(found, tuple):
        raise UnknownRevision(f"unknown revision {revision!r}: expected head, base or one of {', '.join(history())}")
    return found.revision


def position(revision: str | None) -> int:
    """0 for the empty database, 1 for the first revision, and so on."""
    return 0 if revision is None else history().index(revision) + 1


def current(engine: sa.Engine) -> str | None:
    """The database's revision; None when no migration was applied (an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def label(revision: str | None) -> str:
    """A revision as the commands print it: "head" for the newest, "base (empty)" for none."""
    if revision is None:
        return f"{BASE} (empty)"
    return "head" if revision == head() else revision
